// payport's admin console: plain JS over the same JSON API (/api/v1/admin/...).
// The access token lives in sessionStorage and goes out as an Authorization: Bearer header. A
// browser never attaches that header by itself (unlike a cookie), so another site cannot forge
// a request carrying it: no CSRF token is needed. The CSP forbids inline and foreign scripts.
"use strict";
const API = "/api/v1";
const $ = (sel) => document.querySelector(sel);
const token = () => sessionStorage.getItem("payport_admin_token");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick" || k === "onsubmit") node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

async function api(method, path, body, extra) {
  const headers = { Authorization: "Bearer " + token(), ...(extra || {}) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) { signOut(); throw new Error("signed out"); }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) { const err = new Error((data && (data.detail || data.title)) || res.statusText); err.status = res.status; throw err; }
  return data;
}

function money(amount, currency) {
  if (typeof amount !== "number" || !currency) return String(amount ?? "");
  const f = new Intl.NumberFormat("en", { style: "currency", currency });
  return f.format(amount / 10 ** f.resolvedOptions().maximumFractionDigits);
}

const MONEY = new Set(["amount", "total", "subtotal", "discount", "shipping", "tax", "refunded_amount", "amount_refunded"]);

function cell(key, row) {
  const v = row[key];
  if (MONEY.has(key) && typeof v === "number")
    return el("td", { class: "num" }, money(v, row.currency));
  if (key === "status" || key === "state" || key === "breaker")
    return el("td", {}, el("span", { class: "badge " + String(v).replace(/[^a-z_]/g, "") }, String(v)));
  if (v !== null && typeof v === "object") return el("td", {}, JSON.stringify(v));
  return el("td", {}, v === null || v === undefined ? "" : String(v));
}

function table(rows, columns, open) {
  if (!rows.length) return el("p", {}, "Nothing here.");
  const cols = columns || Object.keys(rows[0]).filter((k) => rows[0][k] === null || typeof rows[0][k] !== "object");
  return el("table", {}, el("thead", {}, el("tr", {}, cols.map((c) => el("th", {}, c)))),
    el("tbody", {}, rows.map((r) => {
      const tr = el("tr", {}, cols.map((c) => cell(c, r)));
      if (open) tr.append(el("td", {}, el("a", { href: open(r) }, "open")));
      return tr;
    })));
}

function show(title, ...content) {
  const view = $("#view");
  view.replaceChildren(el("h1", {}, title), ...content);
  view.hidden = false;
}

function failure(err) { return el("p", { class: "error", role: "alert" }, err.message); }

function filters(fields, values, onapply) {
  const form = el("form", { class: "filters" }, fields.map(([name, label]) =>
    el("label", {}, label + " ", el("input", { name, value: values[name] || "" }))), el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [name] of fields) { const v = form.elements[name].value.trim(); if (v) q.set(name, v); }
    onapply(q);
  });
  return form;
}

const COLUMNS = {
  orders: ["order_number", "status", "total", "currency", "customer_email", "created_at"],
  payments: ["id", "status", "amount", "currency", "gateway", "reference", "created_at"],
  refunds: ["id", "status", "amount", "currency", "reason", "payment_id", "created_at"],
};
const LIST_FILTERS = [["status", "Status"], ["email", "Customer email"], ["order_number", "Order number"],
  ["currency", "Currency"], ["gateway", "Gateway"]];

async function listScreen(kind, title, query, open) {
  const q = new URLSearchParams(query);
  const values = Object.fromEntries(q);
  const form = filters(LIST_FILTERS, values, (nq) => { location.hash = kind + (nq.toString() ? "?" + nq : ""); });
  try {
    const page = await api("GET", `/admin/${kind}?${q}`);
    const cols = page.results.length ? COLUMNS[kind].filter((c) => c in page.results[0]) : COLUMNS[kind];
    show(title, form, table(page.results, cols, open));
  } catch (err) { show(title, form, failure(err)); }
}

async function orderScreen(id) {
  try {
    const order = await api("GET", `/admin/orders/${encodeURIComponent(id)}`);
    const facts = el("dl", {}, ["order_number", "status", "customer_email", "customer_name", "currency", "created_at", "paid_at"].filter((k) => k in order)
      .flatMap((k) => [el("dt", {}, k), el("dd", {}, String(order[k]))]),
      el("dt", {}, "total"), el("dd", {}, money(order.total, order.currency)));
    const refunds = await api("GET", `/admin/refunds?limit=100&order_number=${encodeURIComponent(order.order_number)}`).catch(() => ({ results: [] }));
    const payments = order.payments.map((p) => {
      const box = el("div", { class: "card" }, el("h2", {}, "Payment " + p.id),
        el("p", {}, el("span", { class: "badge" }, p.status), " ", money(p.amount, p.currency), " via ", p.gateway || ""));
      const left = refundable(p, refunds.results);
      if (p.status === "succeeded" && left > 0) box.append(refundForm(p, () => orderScreen(id)));
      else if (p.status === "succeeded") box.append(el("p", { class: "muted" }, "Fully refunded."));
      return box;
    });
    show("Order " + order.order_number, el("div", { class: "card" }, facts), ...payments,
      el("h2", {}, "Refunds"), table(refunds.results, ["id", "status", "amount", "currency", "reason", "created_at"].filter((c) => !refunds.results.length || c in refunds.results[0])));
  } catch (err) { show("Order", failure(err)); }
}

// what may still be refunded: the captured amount less every refund not failed (pending ones count)
function refundable(payment, refunds) {
  const captured = typeof payment.captured_amount === "number" ? payment.captured_amount : payment.amount;
  const taken = refunds.filter((r) => r.payment_id === payment.id && r.status !== "failed").reduce((n, r) => n + r.amount, 0);
  return captured - taken;
}

function refundForm(payment, done) {
  const out = el("p", { role: "status" });
  const form = el("form", { class: "filters", "aria-label": "refund" },
    el("label", {}, "Amount (minor units, empty = full) ", el("input", { name: "amount", inputmode: "numeric" })),
    el("label", {}, "Reason ", el("select", { name: "reason" }, ["requested_by_customer", "duplicate", "fraudulent", "other"].map((r) => el("option", { value: r }, r)))),
    el("button", { type: "submit" }, "Refund"), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { reason: form.elements.reason.value };
    const amount = form.elements.amount.value.trim();
    if (amount) body.amount = Number(amount);
    try {
      const r = await api("POST", `/admin/payments/${payment.id}/refund`, body, { "Idempotency-Key": crypto.randomUUID() });
      out.className = "ok"; out.textContent = `Refund ${r.id}: ${r.status}`;
      setTimeout(done, 300);
    } catch (err) { out.className = "error"; out.textContent = err.message; }
  });
  return form;
}

async function fraudScreen() {
  try {
    const page = await api("GET", "/admin/fraud/reviews");
    const rows = page.results;
    const t = table(rows, null);
    rows.forEach((p, i) => {
      const tr = t.querySelectorAll && t.querySelectorAll("tbody tr")[i];
      if (!tr) return;
      tr.append(el("td", {}, el("button", { type: "button", onclick: () => decide(p.id, "approve") }, "Approve"), " ",
        el("button", { type: "button", class: "secondary", onclick: () => decide(p.id, "reject") }, "Reject")));
    });
    show("Fraud review queue", t);
  } catch (err) { show("Fraud review queue", failure(err)); }
}

async function decide(id, what) {
  try { await api("POST", `/admin/fraud/reviews/${id}/${what}`, what === "reject" ? { reason: "rejected in the console" } : {}); }
  catch (err) { alert(err.message); }
  fraudScreen();
}

async function simpleScreen(title, path, key) {
  try { const data = await api("GET", path); show(title, table(data[key], null)); }
  catch (err) { show(title, failure(err)); }
}

async function gatewaysScreen() {
  try {
    const data = await api("GET", "/admin/gateways");
    const rows = data.gateways.map((g) => ({
      name: g.name, enabled: g.enabled, breaker: g.enabled ? (g.breaker ? g.breaker.state : "closed") : "off", consecutive_failures:
        g.breaker ? g.breaker.consecutive_failures ?? "" : "", successes: g.successes ?? "", failures: g.failures ?? "",
      mean_latency_ms: g.mean_latency_ms ?? "", currencies: (g.currencies || []).join(", "), reason: g.reason || "" }));
    const t = table(rows, ["name", "enabled", "breaker", "consecutive_failures", "successes", "failures", "mean_latency_ms", "currencies", "reason"]);
    show("Gateway health", t);
  } catch (err) { show("Gateway health", failure(err)); }
}

async function webhooksScreen() {
  try {
    const data = await api("GET", "/admin/webhooks/failed");
    const t = table(data.results, null);
    data.results.forEach((w, i) => {
      const tr = t.querySelectorAll && t.querySelectorAll("tbody tr")[i];
      if (tr) tr.append(el("td", {}, el("button", { type: "button", onclick: async () => {
        try { await api("POST", `/admin/webhooks/${w.id}/retry`); } catch (err) { alert(err.message); }
        webhooksScreen();
      } }, "Retry")));
    });
    show("Failed webhooks", t);
  } catch (err) { show("Failed webhooks", failure(err)); }
}

// the event types an endpoint may subscribe to (domain/merchant_webhooks.py: EVENT_TYPES; a test keeps them equal)
const EVENT_TYPES = ["order.cancelled", "order.completed", "order.created", "order.paid", "payment.failed",
  "payment.succeeded", "refund.failed", "refund.succeeded"];
const MW = "/admin/merchant-webhooks";

// a signing secret, shown the once the API hands it over
function secretCard(heading, secret) {
  return el("div", { class: "card secret", role: "status" }, el("h2", {}, heading),
    el("p", {}, "Copy it now: it is not shown again. Verify each delivery with it (Standard Webhooks)."),
    el("code", { id: "secret" }, secret));
}

async function merchantWebhooksScreen(id, shown) {
  if (id) return endpointScreen(id, shown);
  const title = "Merchant webhooks";
  const out = el("p", { role: "alert" });
  const form = el("form", { class: "card", "aria-label": "register an endpoint" }, el("h2", {}, "Register an endpoint"),
    el("label", {}, "URL ", el("input", { name: "url", type: "url", size: "50", placeholder: "https://shop.example/payport-hooks", required: "" })),
    el("label", {}, "Description ", el("input", { name: "description", size: "30" })),
    el("fieldset", {}, el("legend", {}, "Events (none ticked: all)"),
      EVENT_TYPES.map((t) => el("label", { class: "inline" }, el("input", { type: "checkbox", name: "events", value: t }), " " + t))),
    el("button", { type: "submit" }, "Register"), out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const events = [...form.querySelectorAll("input[name=events]:checked")].map((c) => c.value);
    const body = { url: form.elements.url.value.trim(), description: form.elements.description.value.trim() };
    if (events.length) body.events = events;
    try {
      const created = await api("POST", MW, body, { "Idempotency-Key": crypto.randomUUID() });
      merchantWebhooksScreen(null, secretCard(`Endpoint ${created.id} registered: its signing secret`, created.secret));
    } catch (err) { out.className = "error"; out.textContent = err.message; }
  });
  try {
    const data = await api("GET", MW + "?limit=100");
    const rows = data.results.map((e) => ({ ...e, events: e.events.join(", ") }));
    show(title, ...(shown ? [shown] : []), table(rows, ["url", "events", "enabled", "description", "disabled_reason", "created_at"],
      (e) => "#merchant-webhooks/" + e.id), form);
  } catch (err) { show(title, failure(err)); }
}

function attemptsText(d) {
  return d.attempt_log.map((a) => `#${a.attempt} ${a.status_code ?? "-"} ${a.latency_ms} ms ${a.response || ""}`).join("\n");
}

async function endpointScreen(id, shown) {
  const path = `${MW}/${encodeURIComponent(id)}`;
  const again = (card) => merchantWebhooksScreen(id, card);
  const act = async (method, sub, body, then) => {
    try { const r = await api(method, path + sub, body, method === "POST" ? { "Idempotency-Key": crypto.randomUUID() } : undefined); (then || (() => again()))(r); }
    catch (err) { alert(err.message); }
  };
  try {
    const e = await api("GET", path);
    const log = await api("GET", path + "/deliveries?limit=50");
    const facts = el("dl", {}, ["id", "url", "description", "enabled", "disabled_reason", "signing_secrets", "previous_secret_expires_at", "created_at"]
      .flatMap((k) => [el("dt", {}, k), el("dd", {}, String(e[k] ?? ""))]), el("dt", {}, "events"), el("dd", {}, e.events.join(", ")));
    const buttons = el("p", { class: "actions" },
      el("button", { type: "button", onclick: () => act("POST", "/test", undefined) }, "Send test event"), " ",
      el("button", { type: "button", class: "secondary", onclick: () => act("POST", "/rotate-secret", { overlap_hours: 24 },
        (r) => again(secretCard("New signing secret (the old one signs beside it for 24 h)", r.secret))) }, "Rotate secret"), " ",
      el("button", { type: "button", class: "secondary", onclick: () => act("PATCH", "", { enabled: !e.enabled }) }, e.enabled ? "Disable" : "Enable"), " ",
      el("button", { type: "button", class: "secondary", onclick: () => {
        if (confirm("Delete this endpoint?")) act("DELETE", "", undefined, () => { location.hash = "merchant-webhooks"; });
      } }, "Delete"));
    const rows = log.results.map((d) => ({ id: d.id, type: d.type, status: d.status, attempts: d.attempts,
      last_status_code: d.attempt_log.length ? d.attempt_log[d.attempt_log.length - 1].status_code ?? "" : "",
      created_at: d.created_at, attempt_log: attemptsText(d) }));
    const t = table(rows, ["type", "status", "attempts", "last_status_code", "created_at", "attempt_log"]);
    rows.forEach((d, i) => {
      const tr = t.querySelectorAll && t.querySelectorAll("tbody tr")[i];
      if (tr) tr.append(el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => act("POST", `/deliveries/${d.id}/redeliver`) }, "Redeliver")));
    });
    show("Merchant webhook " + e.id, ...(shown ? [shown] : []), el("div", { class: "card" }, facts, buttons),
      el("h2", {}, "Deliveries"), t, el("p", { class: "muted" }, "The worker sends queued deliveries; reload to see their attempts."));
  } catch (err) { show("Merchant webhook", failure(err)); }
}

function route() {
  if (!token()) { $("#nav").hidden = true; $("#view").hidden = true; $("#signin").hidden = false; return; }
  $("#signin").hidden = true; $("#nav").hidden = false;
  const [path, query] = (location.hash.slice(1) || "orders").split("?");
  const [screen, id] = path.split("/");
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.getAttribute("href") === "#" + screen);
  const screens = {
    orders: () => id ? orderScreen(id) : listScreen("orders", "Orders", query, (o) => "#orders/" + o.id),
    payments: () => listScreen("payments", "Payments", query, null),
    refunds: () => listScreen("refunds", "Refunds", query, null),
    fraud: fraudScreen,
    reconciliation: () => simpleScreen("Reconciliation findings", "/admin/reconciliation", "findings"),
    gateways: gatewaysScreen,
    webhooks: webhooksScreen,
    "merchant-webhooks": () => merchantWebhooksScreen(id),
  };
  (screens[screen] || screens.orders)();
}

function signOut() { sessionStorage.removeItem("payport_admin_token"); route(); }

$("#signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  $("#signin-error").textContent = "";
  const res = await fetch(API + "/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: form.elements.email.value, password: form.elements.password.value }) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { $("#signin-error").textContent = data.detail || "Sign-in failed"; return; }
  sessionStorage.setItem("payport_admin_token", data.access || data.access_token);
  const me = await api("GET", "/admin/gateways").catch((err) => err);
  if (me instanceof Error) { sessionStorage.removeItem("payport_admin_token"); $("#signin-error").textContent = "This account is not an admin."; return; }
  form.reset(); route();
});
$("#signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
