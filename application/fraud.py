"""The fraud rules behind the ``FraudChecker`` port (``domain/fraud.py`` decides; this counts and records).

Each assessment counts the attempts made before it by the same user, e-mail, client IP and guest id
within the configured windows, and the declined payments among them (their references are matched
with their payments' outcomes), judges the attempt, and records it with the verdict: blocked
attempts count towards velocity too (but not as declines: a decline is the gateway's). A review
holds the intent before any gateway call (the initiation does that with the reasons); a block
fails it before any gateway call (the initiation records the intent as failed, its reasons in
``last_error``, and ``PaymentFailed`` leaves through the outbox), and ``PaymentBlocked`` is also
published here for the merchant's systems (at most once).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from application.ports import Clock, EventBus, FraudDecision, IdGenerator
from application.ports.backoffice import FraudAttempt, FraudSignals
from domain import events
from domain.fraud import ALLOW, BLOCK, REVIEW, Attempt, FraudRules
from domain.orders import EventContext

log = logging.getLogger(__name__)


class RiskRules:
    """``FraudChecker``: the configured ``FraudRules`` over the attempts recorded in ``signals``."""

    def __init__(self, rules: FraudRules, signals: FraudSignals, clock: Clock, ids: IdGenerator,
                 bus: EventBus | None = None, on_decision: Callable[[str], None] | None = None) -> None:
        self.rules, self.signals, self.clock, self.ids, self.bus = rules, signals, clock, ids, bus
        self.on_decision = on_decision or (lambda outcome: None)

    async def assess(self, *, user_id: str, amount: int, currency: str, email: str | None,
                     client_ip: str | None = None, country: str | None = None, guest_id: str | None = None,
                     reference: str | None = None, context: EventContext | None = None) -> FraudDecision:
        now = self.clock.now()
        attempt = Attempt(amount=amount, currency=currency, user_id=None if guest_id else user_id, email=email,
                          client_ip=client_ip, guest_id=guest_id, country=country)
        identities = attempt.identities()
        made = await self._counts(identities, self.rules.velocity_since(now), 0)
        declined = await self._counts(identities, self.rules.declines_since(now), 1)
        verdict = self.rules.judge(attempt, made, declined)
        await self.signals.record(FraudAttempt(
            id=self.ids.new_id("fra"), at=now, user_id=user_id, amount=amount, currency=currency,
            outcome=verdict.outcome, reasons=verdict.reasons, reference=reference,
            order_id=context.order_id if context else None, email=email, client_ip=client_ip, guest_id=guest_id,
            country=country.upper() if country else None))
        self.on_decision(verdict.outcome)
        if verdict.outcome == BLOCK:
            log.warning("payment attempt by %s blocked by the risk rules: %s", user_id, "; ".join(verdict.reasons))
            await self._announce(context, amount, currency, verdict.reasons, now)
        return FraudDecision(allow=verdict.outcome == ALLOW, reasons=verdict.reasons, review=verdict.outcome == REVIEW)

    async def reap(self) -> int:
        """Forget the attempts older than the longest window (at least a day); the worker's hourly job."""
        return await self.signals.reap(self.clock.now() - max(self.rules.longest_window, timedelta(days=1)))

    async def _counts(self, identities: dict[str, str], since: dict, which: int) -> dict[str, int]:
        keys = {kind: identities[kind] for kind in since if kind in identities}
        if not keys:
            return {}
        counted = await self.signals.counts(keys, {kind: since[kind] for kind in keys})
        return {kind: pair[which] for kind, pair in counted.items()}

    async def _announce(self, context: EventContext | None, amount: int, currency: str, reasons, now) -> None:
        if self.bus is None or context is None:
            return
        try:
            await self.bus.publish(events.PaymentBlocked(**context.fields(now), amount=amount, currency=currency,
                                                         reasons="; ".join(reasons)))
        except Exception:  # noqa: BLE001 - the refusal stands whether or not anyone heard of it
            log.warning("could not publish PaymentBlocked", exc_info=True)
