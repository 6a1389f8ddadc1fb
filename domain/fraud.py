"""The fraud rules: what an attempt to pay is judged on, and the verdict (allow, review, block).

Each rule is configured (``FraudRules.from_dict``, the shape of ``PAYPORT_FRAUD_FILE``) and is off
unless configured, except the amount caps that payport always had:

- ``amounts``: per currency, a ``review`` level and a ``block`` level (minor units; above it).
- ``velocity``: per identity (``user``, ``email``, ``ip``, ``guest``: the guest id, a device
  identity with no account), at most ``limit`` attempts within ``window_seconds``; the next is
  held for review (``action``) or blocked.
- ``declines``: the card-testing pattern: ``limit`` failed payments within ``window_seconds`` by
  one of the identities in ``by``; the next attempt is blocked (``action``).
- ``blocklist``: e-mails (an address, or ``@domain``), client IPs (an address or a network) and
  billing countries that are always blocked.
- ``country_currency``: a billing country that is not one of the currency's countries (``NGN``:
  ``["NG"]``) is held for review (``action``); currencies not listed are not checked.

The verdict is the strongest action any rule took (block over review over allow), with every
reason found. Nothing here does I/O: the counts come from the attempts recorded.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from domain.errors import InvalidValue

ALLOW, REVIEW, BLOCK = "allow", "review", "block"
ACTIONS = (REVIEW, BLOCK)
IDENTITIES = ("user", "email", "ip", "guest")


@attrs.frozen
class Limit:
    """At most ``limit`` in ``window``; then ``action``."""

    limit: int
    window: timedelta
    action: str = REVIEW


@attrs.frozen
class Attempt:
    """What is known of one attempt to pay. ``user_id`` is None for a guest (``guest_id`` then)."""

    amount: int
    currency: str
    user_id: str | None = None
    email: str | None = None
    client_ip: str | None = None
    guest_id: str | None = None
    country: str | None = None

    def identities(self) -> dict[str, str]:
        """Identity kind -> its value, for those known (e-mails compared in lower case)."""
        found = {"user": self.user_id, "email": self.email.lower() if self.email else None,
                 "ip": self.client_ip, "guest": self.guest_id}
        return {kind: value for kind, value in found.items() if value}


@attrs.frozen
class Verdict:
    outcome: str
    reasons: tuple[str, ...] = ()


def _action(value: Any, where: str, default: str) -> str:
    action = default if value is None else value
    if action not in ACTIONS:
        raise InvalidValue(f"{where}.action must be one of {', '.join(ACTIONS)}", field=where)
    return action


def _count(value: Any, where: str, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise InvalidValue(f"{where} must be a whole number of at least {minimum}", field=where)
    return value


def _limit(data: Any, where: str, default_action: str) -> Limit:
    if not isinstance(data, Mapping) or set(data) - {"limit", "window_seconds", "action"}:
        raise InvalidValue(f"{where} is {{limit, window_seconds, action?}}", field=where)
    return Limit(_count(data.get("limit"), f"{where}.limit"),
                 timedelta(seconds=_count(data.get("window_seconds"), f"{where}.window_seconds", 1)),
                 _action(data.get("action"), where, default_action))


def _words(data: Any, where: str, upper: bool = False) -> frozenset[str]:
    if not isinstance(data, list) or not all(isinstance(v, str) and v for v in data):
        raise InvalidValue(f"{where} is a list of strings", field=where)
    return frozenset(v.upper() if upper else v.lower() for v in data)


@attrs.frozen
class FraudRules:
    amounts: Mapping[str, tuple[int | None, int | None]] = attrs.field(factory=dict)
    velocity: Mapping[str, Limit] = attrs.field(factory=dict)
    declines: Limit | None = None
    declines_by: frozenset[str] = frozenset(IDENTITIES)
    blocked_emails: frozenset[str] = frozenset()
    blocked_ips: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    blocked_countries: frozenset[str] = frozenset()
    country_currency: Mapping[str, frozenset[str]] = attrs.field(factory=dict)
    country_currency_action: str = REVIEW

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], block_above: Mapping[str, int] | None = None) -> FraudRules:
        """Rules from their JSON shape; ``block_above``: the block levels to use for currencies the
        data gives none (the ``fraud_max_amount`` setting). InvalidValue names what is wrong."""
        unknown = set(data) - {"amounts", "velocity", "declines", "blocklist", "country_currency"}
        if unknown:
            raise InvalidValue(f"unknown fraud rule(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
        amounts: dict[str, tuple[int | None, int | None]] = {c: (None, v) for c, v in (block_above or {}).items()}
        for currency, levels in (data.get("amounts") or {}).items():
            where = f"amounts.{currency}"
            if not isinstance(levels, Mapping) or set(levels) - {"review", "block"}:
                raise InvalidValue(f"{where} is {{review?, block?}}", field=where)
            review, block = levels.get("review"), levels.get("block", amounts.get(currency.upper(), (None, None))[1])
            amounts[currency.upper()] = (None if review is None else _count(review, f"{where}.review"),
                                         None if block is None else _count(block, f"{where}.block"))
        velocity = {}
        for kind, limit in (data.get("velocity") or {}).items():
            if kind not in IDENTITIES:
                raise InvalidValue(f"velocity is counted per {', '.join(IDENTITIES)}, not {kind!r}", field="velocity")
            velocity[kind] = _limit(limit, f"velocity.{kind}", REVIEW)
        declines, declines_by = None, frozenset(IDENTITIES)
        if data.get("declines") is not None:
            raw = dict(data["declines"]) if isinstance(data["declines"], Mapping) else data["declines"]
            if isinstance(raw, dict) and "by" in raw:
                declines_by = _words(raw.pop("by"), "declines.by")
                if declines_by - set(IDENTITIES):
                    raise InvalidValue(f"declines.by names {', '.join(IDENTITIES)} only", field="declines.by")
            declines = _limit(raw, "declines", BLOCK)
        blocklist = data.get("blocklist") or {}
        if set(blocklist) - {"emails", "ips", "countries"}:
            raise InvalidValue("blocklist is {emails?, ips?, countries?}", field="blocklist")
        try:
            ips = tuple(ipaddress.ip_network(v, strict=False) for v in _words(blocklist.get("ips", []), "blocklist.ips"))
        except ValueError as exc:
            raise InvalidValue(f"blocklist.ips: {exc}", field="blocklist.ips") from None
        country_currency = data.get("country_currency") or {}
        if set(country_currency) - {"countries", "action"}:
            raise InvalidValue("country_currency is {countries, action?}", field="country_currency")
        return cls(
            amounts=amounts, velocity=velocity, declines=declines, declines_by=declines_by,
            blocked_emails=_words(blocklist.get("emails", []), "blocklist.emails"), blocked_ips=ips,
            blocked_countries=_words(blocklist.get("countries", []), "blocklist.countries", upper=True),
            country_currency={c.upper(): _words(v, f"country_currency.countries.{c}", upper=True)
                              for c, v in (country_currency.get("countries") or {}).items()},
            country_currency_action=_action(country_currency.get("action"), "country_currency", REVIEW))

    def to_dict(self) -> dict[str, Any]:
        """The rules in the shape ``from_dict`` reads (for the admin view)."""
        def limit(rule: Limit) -> dict[str, Any]:
            return {"limit": rule.limit, "window_seconds": int(rule.window.total_seconds()), "action": rule.action}
        return {
            "amounts": {c: {k: v for k, v in (("review", r), ("block", b)) if v is not None}
                        for c, (r, b) in sorted(self.amounts.items())},
            "velocity": {kind: limit(rule) for kind, rule in self.velocity.items()},
            "declines": None if self.declines is None else {**limit(self.declines), "by": sorted(self.declines_by)},
            "blocklist": {"emails": sorted(self.blocked_emails), "ips": sorted(str(n) for n in self.blocked_ips),
                          "countries": sorted(self.blocked_countries)},
            "country_currency": {"countries": {c: sorted(v) for c, v in sorted(self.country_currency.items())},
                                 "action": self.country_currency_action},
        }

    # -- what the counts must cover --------------------------------------------------------------
    def velocity_since(self, now: datetime) -> dict[str, datetime]:
        return {kind: now - rule.window for kind, rule in self.velocity.items()}

    def declines_since(self, now: datetime) -> dict[str, datetime]:
        if self.declines is None:
            return {}
        return {kind: now - self.declines.window for kind in self.declines_by}

    @property
    def longest_window(self) -> timedelta:
        windows = [rule.window for rule in self.velocity.values()]
        if self.declines is not None:
            windows.append(self.declines.window)
        return max(windows, default=timedelta(0))

    # -- the verdict -----------------------------------------------------------------------------
    def judge(self, attempt: Attempt, attempts: Mapping[str, int], declines: Mapping[str, int]) -> Verdict:
        """The verdict on ``attempt``, given the attempts made before it in each velocity window
        and the declines in the decline window, per identity kind."""
        found: list[tuple[str, str]] = []
        review, block = self.amounts.get(attempt.currency, (None, None))
        if block is not None and attempt.amount > block:
            found.append((BLOCK, f"amount {attempt.amount} {attempt.currency} above the block level {block}"))
        elif review is not None and attempt.amount > review:
            found.append((REVIEW, f"amount {attempt.amount} {attempt.currency} above the review level {review}"))
        identities = attempt.identities()
        for kind, rule in self.velocity.items():
            made = attempts.get(kind, 0)
            if kind in identities and made >= rule.limit:
                found.append((rule.action, f"{made} attempts by this {kind} within {rule.window} (limit {rule.limit})"))
        if self.declines is not None:
            for kind in sorted(self.declines_by & identities.keys()):
                failed = declines.get(kind, 0)
                if failed >= self.declines.limit:
                    found.append((self.declines.action, f"{failed} declined payments by this {kind} within "
                                                        f"{self.declines.window} (repeated declines)"))
        found += self._blocklisted(attempt)
        countries = self.country_currency.get(attempt.currency)
        if attempt.country and countries is not None and attempt.country.upper() not in countries:
            found.append((self.country_currency_action,
                          f"billing country {attempt.country.upper()} does not use {attempt.currency}"))
        actions = {action for action, _ in found}
        outcome = BLOCK if BLOCK in actions else REVIEW if REVIEW in actions else ALLOW
        return Verdict(outcome, tuple(reason for _, reason in found))

    def _blocklisted(self, attempt: Attempt) -> list[tuple[str, str]]:
        found = []
        email = (attempt.email or "").lower()
        if email and (email in self.blocked_emails or "@" + email.rpartition("@")[2] in self.blocked_emails):
            found.append((BLOCK, "the e-mail address is blocklisted"))
        if attempt.client_ip and self.blocked_ips:
            try:
                address = ipaddress.ip_address(attempt.client_ip)
            except ValueError:
                address = None
            if address is not None and any(address in network for network in self.blocked_ips):
                found.append((BLOCK, "the client IP address is blocklisted"))
        if attempt.country and attempt.country.upper() in self.blocked_countries:
            found.append((BLOCK, f"billing country {attempt.country.upper()} is blocklisted"))
        return found
