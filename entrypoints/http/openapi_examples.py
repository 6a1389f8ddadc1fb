"""Examples in the OpenAPI document for the main requests and answers, by operationId: the README's
payment story (sign up, log in, a cart, a checkout confirmed into an order, a payment on the
sandbox, a refund) and a gateway's webhook. Taken from a run of that story on the embedded default;
``tests/unit/test_openapi_examples.py`` checks each against its route's models, so they cannot
drift from what the server takes and answers."""
from __future__ import annotations

USER = "usr_3348be390d8f292ecd39918d"
ORDER = "ord_356d8c6f919c56ca6af17dd0"
CHECKOUT = "chk_e1947892969c87b0a580433a"
PAYMENT = "pay_48ba8a03b6b2c5783798f434"
REFERENCE = "ppf4463e2df4eb971d4d9485856f0e42"
AT = "2026-12-02T01:04:24.642957Z"
LINE = {"sku": "NG-RICE-5KG", "name": "Local rice, 5 kg", "quantity": 2, "unit_price": 850000, "total": 1700000}
SUMMARY = {"subtotal": 1700000, "discount": 170000, "shipping": 150000, "tax": 114750, "total": 1794750,
           "currency": "NGN", "tax_inclusive": False}
ADDRESS = {"country": "NG", "city": "Lagos", "line1": "1 Marina"}


def _checkout(**changes) -> dict:
    return {"checkout_id": CHECKOUT, "items": [LINE], "summary": SUMMARY, "coupon": "WELCOME10",
            "shipping_method": "standard", "address": {**ADDRESS, "postal_code": None},
            "expires_at": "2026-12-02T01:34:24.635388Z", "updated_at": AT, **changes}


def _order(**changes) -> dict:
    return {"id": ORDER, "order_number": "PP-261202-TSTWP6JT", "status": "pending", "items": [LINE],
            **{k: v for k, v in SUMMARY.items() if k != "tax_inclusive"}, "coupon": "WELCOME10",
            "workspace_id": None, "created_at": AT, "updated_at": AT, "version": 0, "paid_at": None,
            "completed_at": None, "fulfilment": None, "cancellation": None,
            "status_history": [{"from": None, "to": "pending", "at": AT, "by": USER, "note": "placed"}], **changes}


PAYMENT_OUT = {
    "id": PAYMENT, "order_id": ORDER, "reference": REFERENCE, "status": "requires_action", "amount": 1794750,
    "currency": "NGN", "gateway": "sandbox", "authorization_url": f"http://127.0.0.1:8080/sandbox/pay/{REFERENCE}",
    "captured_amount": 0, "last_error": None, "expires_at": "2026-12-02T01:35:24.668185Z", "created_at": AT,
    "updated_at": AT, "gateway_reference": "sbx_d59d0dd184503b64ebe6", "attempts": 1, "payment_method": None,
    "paid_at": None, "late_capture": False, "review_reason": None}
TOKENS = {"access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.an-access-token.signature",
          "refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.a-refresh-token.signature",
          "token_type": "Bearer", "expires_in": 900}
#: a sandbox webhook (its ``Payport-Sandbox-Signature`` header signs the raw body)
SANDBOX_EVENT = {"id": "evt_sbx_5b0c6f5e", "type": "payment.approved",
                 "data": {"reference": REFERENCE, "id": "sbx_d59d0dd184503b64ebe6", "amount": 1794750,
                          "currency": "NGN", "status": "succeeded"}}

#: operationId -> an example of its request body
REQUESTS: dict[str, dict] = {
    "auth_register": {"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"},
    "auth_login": {"email": "ada@example.com", "password": "correct horse battery"},
    "cart_add_item": {"sku": "NG-RICE-5KG", "quantity": 2},
    "checkout_initiate": {"items": [{"sku": "NG-RICE-5KG", "quantity": 2}]},
    "checkout_coupon": {"checkout_id": CHECKOUT, "code": "WELCOME10"},
    "checkout_shipping": {"checkout_id": CHECKOUT, "address": ADDRESS},
    "checkout_confirm": {"checkout_id": CHECKOUT},
    "orders_create_order": {"items": [{"sku": "NG-RICE-5KG", "quantity": 1}]},
    "payments_initiate": {"order_id": ORDER},
    "refunds_create_refund": {"payment_id": PAYMENT, "amount": 500000, "reason": "requested_by_customer"},
    "webhooks_receive": SANDBOX_EVENT,
}

#: operationId -> an example of its success answer
RESPONSES: dict[str, dict] = {
    "auth_register": {"id": USER, "email": "ada@example.com", "name": "Ada", "role": "customer"},
    "auth_login": TOKENS,
    "cart_add_item": {"items": [{**LINE, "product_id": "prd_ng_rice_5kg", "available": True, "issue": None}],
                      "subtotal": 1700000, "currency": "NGN", "item_count": 2, "updated_at": AT},
    "checkout_initiate": _checkout(summary={**SUMMARY, "discount": 0, "shipping": 0, "tax": 0, "total": 1700000},
                                   coupon=None, shipping_method=None, address=None),
    "checkout_coupon": _checkout(summary={**SUMMARY, "shipping": 0, "tax": 0, "total": 1530000},
                                 shipping_method=None, address=None),
    "checkout_shipping": _checkout(),
    "checkout_confirm": _order(),
    "orders_create_order": _order(),
    "orders_get_order": _order(status="paid", version=1, paid_at=AT, status_history=[
        {"from": None, "to": "pending", "at": AT, "by": USER, "note": "placed"},
        {"from": "pending", "to": "paid", "at": AT, "by": "system", "note": f"paid by payment {PAYMENT}"}]),
    "payments_initiate": PAYMENT_OUT,
    "payments_callback_get": {**PAYMENT_OUT, "status": "succeeded", "captured_amount": 1794750, "paid_at": AT},
    "refunds_create_refund": {
        "id": "rfd_96969a429605ccc0f5fa1255", "payment_id": PAYMENT, "order_id": ORDER, "amount": 500000,
        "currency": "NGN", "reason": "requested_by_customer", "description": None, "status": "succeeded",
        "created_at": AT, "updated_at": AT, "gateway_refund_id": "sbr_rfd_96969a429605ccc0f5fa1255", "attempts": 1,
        "needs_attention": False, "attention": None},
    "webhooks_receive": {"received": True, "status": "processed"},
}

#: status -> an example problem (RFC 9457) for the shared error answers
PROBLEMS: dict[int, dict] = {
    400: {"code": "malformed_json", "title": "Malformed JSON", "detail": "the request body is not valid JSON"},
    401: {"code": "unauthorized", "title": "Unauthorized", "detail": "send Authorization: Bearer <access token>"},
    403: {"code": "forbidden", "title": "Forbidden", "detail": "administrators only"},
    404: {"code": "not_found", "title": "Not found", "detail": "order not found"},
    409: {"code": "idempotency_in_flight", "title": "Request in progress",
          "detail": "a request with this Idempotency-Key is still running"},
    413: {"code": "body_too_large", "title": "Request body too large", "detail": "request bodies are limited to 1 MiB"},
    422: {"code": "validation_error", "title": "Validation failed", "detail": "the request body is not valid",
          "errors": [{"field": "items.0.quantity", "message": "Input should be greater than or equal to 1"}]},
    429: {"code": "rate_limited", "title": "Too many requests", "detail": "rate limit of 10 per 60s reached for payment_initiate"},
    503: {"code": "dependency_unavailable", "title": "Service temporarily unavailable",
          "detail": "the database is unavailable", "dependency": "database"},
}
