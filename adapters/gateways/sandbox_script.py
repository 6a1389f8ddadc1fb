"""The sandbox's scripted behaviours: what a tester picks on the hosted page (or sends as form
fields) to rehearse a gateway's failures. Sandbox only: nothing here runs beside real money.

- ``none``: the gateway answers at once (Approve settles, its webhook is delivered).
- ``slow``: the answer to Approve / Decline takes ``seconds`` (at most ``MAX_SLOW``).
- ``timeout``: the outcome is recorded at the gateway, but no webhook comes and every status check
  times out for ``seconds``: our side holds the outcome as unknown and asks again later.
- ``delayed``: the payment is ``processing`` for ``seconds``, then ends as chosen; its webhook is
  delivered then (by the worker's ``sandbox_delayed_webhooks`` job).

A decline carries ``reason`` (free text, printable, at most ``MAX_REASON`` characters): it becomes
the payment's failure reason (``last_error`` in the API).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import attrs

from application.jobs import Every, each_isolated

BEHAVIOURS = {
    "none": "answer at once",
    "slow": "slow answer (the answer takes N seconds)",
    "timeout": "timeout (status checks time out for N seconds, no webhook)",
    "delayed": "outcome after a delay (processing for N seconds, then the webhook)",
}
#: the seconds each behaviour takes when the tester names none
DEFAULT_SECONDS = {"none": 0, "slow": 5, "timeout": 60, "delayed": 30}
MAX_SLOW = 30
MAX_SECONDS = 3600
MAX_REASON = 120
#: the reasons the page offers (any other printable text is taken too)
REASONS = ("insufficient_funds", "card_declined", "expired_card", "do_not_honor", "suspected_fraud")
DECLINED = "declined on the sandbox page"
#: how often the worker looks for delayed outcomes that are due
DELIVERY_INTERVAL = 1.0


@attrs.frozen
class Script:
    behaviour: str = "none"
    seconds: int = 0
    reason: str | None = None

    @classmethod
    def of(cls, behaviour: str | None, seconds: int | None, reason: str | None) -> Script:
        """From validated fields (``shop_schemas.SandboxScript``): a missing ``seconds`` is the
        behaviour's default; ``slow`` is capped at ``MAX_SLOW``."""
        behaviour = behaviour or "none"
        wait = DEFAULT_SECONDS[behaviour] if seconds is None else seconds
        if behaviour == "slow":
            wait = min(wait, MAX_SLOW)
        return cls(behaviour, 0 if behaviour == "none" else wait, reason or None)


class Webhooks(Protocol):
    """What the sandbox delivers its webhooks to (``application.payments.webhooks.Webhooks``)."""

    async def receive(self, gateway: str, headers: Mapping[str, str], body: bytes, params: Mapping[str, str]): ...
    async def process(self, webhook_id: str, entry=None): ...


async def deliver(webhooks: Webhooks, headers: Mapping[str, str], body: bytes) -> None:
    """The sandbox's webhook, delivered in-process through the same verify -> inbox -> process path
    as any gateway's."""
    entry, new = await webhooks.receive("sandbox", headers, body, {})
    if new:
        await webhooks.process(entry.id, entry)


class DelayedOutcomes(Protocol):
    async def delayed(self) -> list[str]: ...
    async def due_webhook(self, reference: str) -> tuple[dict[str, str], bytes] | None | bool: ...
    async def forget_delayed(self, reference: str) -> None: ...


async def deliver_due(sandbox: DelayedOutcomes, webhooks: Webhooks) -> int:
    """Deliver the webhook of every delayed outcome that is due; one failing delivery is logged and
    retried on the next pass, never stopping the others."""

    async def one(reference: str) -> bool:
        due = await sandbox.due_webhook(reference)
        if due is None:  # not due yet
            return False
        if due is not False:  # False: nothing to deliver (the transaction is gone)
            await deliver(webhooks, *due)
        await sandbox.forget_delayed(reference)
        return True

    return await each_isolated(await sandbox.delayed(), one, "sandbox delayed webhook", key=str)


def delivery_job(sandbox: DelayedOutcomes, webhooks: Webhooks,
                 interval: float = DELIVERY_INTERVAL) -> Every:
    run: Callable[..., Awaitable[int]] = deliver_due
    return Every("sandbox_delayed_webhooks", interval, run, sandbox, webhooks)
