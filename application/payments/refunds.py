"""Refunds, full or partial, in phases: reserve (under the payment's row lock), ask the gateway, record.

The reservation is a pending refund row written in the same transaction that checked the
refundable balance, so concurrent requests can never together exceed what was captured. It also
counts the create call about to be sent (``attempts``): after a crash the refund is known to have
maybe reached the gateway.

What settles a refund is the gateway's own word: its answer to a create call it had no record of,
its webhook, or a status lookup (``lookup_refund``, by the gateway's refund id or by our id where it
echoes it). An error on a repeat call never settles one (the gateway may have accepted an earlier
call: an open circuit breaker, Stripe's 409 ``idempotency_key_in_use``, a refusal once the key is
pruned): the refund stays open and the worker follows it by looking it up, never by creating it
again, unless the gateway, asked by our id, has no record of it a while after the last call. A
refund that cannot be resolved is flagged for a person (``needs_attention``: the admin list, a
metric, a reconcile finding) within ``ATTENTION_AFTER``, and looked at less and less often.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from application import invalidation
from application.caching import CacheAside
from application.errors import AlreadyExists, Conflict, GatewayError, GatewayTimeout, NotFound
from application.ownership import visible
from application.ports import Clock, GatewayRegistry, IdGenerator, Page, ReadModel, RefundPayment
from application.ports.gateways import RefundLookup, RefundOutcome, is_repeat_failure
from application.ports.payments import PaymentsUnitOfWork
from domain.errors import DomainError, RefundNotAllowed
from domain.orders import OrderStatus
from domain.payments import (
    PaymentIntent,
    Refund,
    RefundStatus,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from domain.users import Principal

log = logging.getLogger(__name__)
_PAID = frozenset({OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED})

#: When the worker first looks at a refund whose outcome we lack, and the longest wait between looks.
FIRST_LOOK = timedelta(minutes=2)
LONGEST_WAIT = timedelta(hours=6)
#: How long a refund may stay unresolved before a person is asked to look.
ATTENTION_AFTER = timedelta(hours=1)
#: A create call the gateway has no record of may still appear (its lists lag): wait this long
#: after the last call before sending another, and send at most ``MAX_CREATES`` in all.
RESEND_AFTER = timedelta(minutes=10)
MAX_CREATES = 3


#: What a caller records with a refund's settlement, in its unit of work (``Refunds.request``).
Answer = Callable[[PaymentsUnitOfWork, Refund], None]


def refund_id_for(scope: str, idempotency_key: str) -> str:
    return "rfd_" + hashlib.sha256(f"{scope}\x00refund\x00{idempotency_key}".encode()).hexdigest()[:24]


def next_look(refund: Refund, now) -> timedelta:
    """Backoff for the worker's lookups: doubling with the refund's age, capped."""
    age = max(now - refund.created_at, FIRST_LOOK)
    return min(age, LONGEST_WAIT)


class Refunds:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], read_model: ReadModel, gateways: GatewayRegistry,
                 clock: Clock, ids: IdGenerator, customer_window_days: int | None = 30,
                 cache: CacheAside | None = None, on_attention: Callable[[str], None] | None = None,
                 on_status: Callable[[str], None] | None = None) -> None:
        self.uow, self.read_model, self.gateways, self.clock, self.ids = uow, read_model, gateways, clock, ids
        self.window = timedelta(days=customer_window_days) if customer_window_days else None
        self.cache = cache
        self.on_attention = on_attention or (lambda gateway: None)
        self.on_status = on_status or (lambda status: None)

    async def request(self, principal: Principal, *, payment_id: str, amount: int | None, reason: str,
                      description: str | None, idempotency_key: str | None = None,
                      answer: Answer | None = None) -> Refund:
        """Reserve and ask the gateway. With the caller's Idempotency-Key the refund's id is derived
        from it, so a retry after a crash (even once the key's lock has timed out) finds the same
        refund instead of paying out a second one. ``answer``: called with the settlement's unit of
        work and the refund as settled, before its commit, so that the caller's answer (the key's
        stored response) commits with it, in that transaction."""
        refund_id = refund_id_for(principal.id, idempotency_key) if idempotency_key else self.ids.new_id("rfd")
        try:
            earlier, payment = await self._reserve(principal, refund_id, payment_id, amount, reason, description)
        except AlreadyExists:  # a concurrent retry of the same request reserved it first
            earlier, payment = await self.get(principal, refund_id), None
        if payment is not None:  # reserved now
            return await self.send(earlier, payment, answer)
        if earlier.payment_id != payment_id:
            raise Conflict("this Idempotency-Key was used for a refund of another payment")
        return earlier if earlier.is_final else await self.follow(earlier.id)

    async def resume(self, refund_id: str) -> Refund:
        """What the worker does for an open refund (kept for callers of the earlier name)."""
        return await self.follow(refund_id)

    async def _reserve(self, principal: Principal, refund_id: str, payment_id: str, amount: int | None,
                       reason: str, description: str | None) -> tuple[Refund, PaymentIntent | None]:
        """The new refund and its payment, reserved in one transaction; or the refund this id
        already names (a retry: read in that same transaction, left as it is) and None."""
        now = self.clock.now()
        async with self.uow() as uow:
            locked = await uow.payments.lock(payment_id)  # BEGIN
            try:
                payment = visible(locked, principal, "payment", payment_id=payment_id)
                if not principal.is_admin and self.window is not None and now - payment.updated_at > self.window:
                    raise RefundNotAllowed("the refund window for this payment has passed; contact support")
                refund = Refund.request(
                    id=refund_id, payment=payment, existing=await uow.refunds.amounts(payment.id),
                    amount=amount, reason=reason, description=description,
                    ctx=await uow.orders.context(payment.order_id), now=now)
            except (NotFound, DomainError):
                # a retry of a request that reserved (its refund already counted in the balance, or
                # for another payment) gets that refund, never this refusal; read only when refused
                # (not when the database failed): a retry that passes the checks meets it at the
                # insert (AlreadyExists, in ``request``)
                earlier = await uow.refunds.get(refund_id)
                if earlier is not None:
                    return visible(earlier, principal, "refund", refund_id=refund_id), None
                raise
            refund.sending(now, FIRST_LOOK)  # the create call about to go out, counted before it does
            await uow.refunds.add(refund)  # this id reserved before (a retry): AlreadyExists
            await invalidation.stage(uow, self.cache, refunds=(refund,))
            await uow.commit()
        return refund, payment

    async def send(self, refund: Refund, payment: PaymentIntent | None = None, answer: Answer | None = None) -> Refund:
        """The create call for a reserved refund whose attempt is counted. A refusal settles it
        failed only when it is the gateway's word on a refund it had no record of (not a repeat
        failure, not a transient error); anything else leaves it open for the worker. ``payment``:
        the refund's payment as the reservation read it under its lock (else it is read here); what
        the call needs of it (gateway, references) no longer changes once it is refundable."""
        if payment is None:
            async with self.uow() as uow:
                payment = await uow.payments.get(refund.payment_id)
        gateway = self.gateways.get(payment.gateway)
        if gateway is None:
            log.warning("refund %s: gateway %s is not enabled; left open", refund.id, payment.gateway)
            return refund
        try:
            outcome = await gateway.refund(RefundPayment(
                refund_id=refund.id, reference=payment.reference, gateway_reference=payment.gateway_reference,
                amount=refund.amount, currency=refund.currency, reason=refund.reason))
        except GatewayTimeout:
            log.warning("refund %s: gateway timed out; the worker looks it up", refund.id)
            return refund
        except GatewayError as exc:
            if exc.retryable or is_repeat_failure(exc):
                log.warning("refund %s: %s; the worker looks it up", refund.id, exc.message)
                return refund
            return await self.settle(refund.id, RefundOutcome(RefundStatus.FAILED, None, exc.message), payment.id,
                                     answer)
        return await self.settle(refund.id, outcome, payment.id, answer)

    async def follow(self, refund_id: str) -> Refund:
        """The worker's look at an open refund: ask the gateway for it; settle what it says; send the
        create call again only if the gateway has no record of it a while after the last one (and
        at most ``MAX_CREATES`` times); flag it for a person when it stays unresolved."""
        now = self.clock.now()
        async with self.uow() as uow:
            refund = await uow.refunds.get(refund_id)
            payment = await uow.payments.get(refund.payment_id) if refund else None
        if refund is None or refund.is_final:
            return refund
        gateway = self.gateways.get(payment.gateway)
        if gateway is None:
            return await self._wait(refund_id, f"gateway {payment.gateway} is not enabled here")
        if refund.attempts == 0:  # reserved by a process that died before counting its call
            return await self._send_again(refund_id)
        try:
            outcome = await gateway.lookup_refund(_lookup(refund, payment))
        except GatewayError as exc:
            return await self._wait(refund_id, f"lookup failed: {exc.message}")
        if outcome is not None:
            refund = await self.settle(refund_id, outcome)
            return refund if refund.is_final else await self._wait(refund_id, outcome.error or "not final yet")
        if refund.status is RefundStatus.PROCESSING:
            return await self._wait(refund_id, "the gateway accepted this refund but has no record of it now")
        if now - refund.updated_at < RESEND_AFTER:
            return await self._wait(refund_id, None)
        if refund.attempts >= MAX_CREATES:
            return await self._wait(refund_id, f"the gateway has no record of this refund after {refund.attempts} "
                                               "create calls: pay it out by hand or cancel it", flag_now=True)
        return await self._send_again(refund_id)

    async def retry_with_customer_details(self, refund_id: str, account: Mapping[str, str]) -> Refund:
        """A refund its gateway holds until the customer's account details are given (Paystack
        ``needs-attention``): send them with the gateway's retry call (a person asked), settle what
        it answers, and note on the refund that they were sent. The refund stays open and followed
        by lookup like any other; the details are sent, never stored or logged."""
        async with self.uow() as uow:
            refund = await uow.refunds.get(refund_id)
            payment = await uow.payments.get(refund.payment_id) if refund else None
        if refund is None or payment is None:
            raise NotFound("no such refund", refund_id=refund_id)
        if refund.is_final or not refund.needs_attention or not refund.gateway_refund_id:
            raise Conflict("only an open refund flagged for a person, and known to its gateway, can be retried "
                           "with the customer's account details", refund_id=refund_id, status=refund.status.value)
        gateway = self.gateways.get(payment.gateway)
        retry = getattr(gateway, "retry_refund_with_customer_details", None) if gateway is not None else None
        if retry is None:
            raise Conflict(f"gateway {payment.gateway} has no retry with the customer's account details here",
                           refund_id=refund_id, gateway=payment.gateway)
        outcome = await retry(refund.gateway_refund_id, {"currency": refund.currency, **account})
        refund = await self.settle(refund_id, outcome, payment.id)
        if refund.is_final or outcome.needs_attention:
            return refund
        now = self.clock.now()
        async with self.uow() as uow:
            refund = await uow.refunds.lock(refund_id)
            if not refund.is_final:
                refund.flag(f"the customer's account details were sent to {payment.gateway} at {now.isoformat()} "
                            f"(it answered {outcome.status.value}): followed by lookup until it settles", now)
                await uow.refunds.save(refund)
                await invalidation.stage(uow, self.cache, refunds=(refund,))
                await uow.commit()
        return refund

    async def check(self, refund_id: str) -> Refund:
        """Ask the gateway for one refund now and settle what it says (a webhook that names no
        refund, or cannot be trusted alone, makes us ask). A refund held as failed is asked about
        too: a success the gateway reports for it is recorded, never dropped."""
        async with self.uow() as uow:
            refund = await uow.refunds.get(refund_id)
            payment = await uow.payments.get(refund.payment_id)
        gateway = self.gateways.get(payment.gateway)
        if refund.status is RefundStatus.SUCCEEDED or gateway is None:
            return refund
        outcome = await gateway.lookup_refund(_lookup(refund, payment))
        return refund if outcome is None else await self.settle(refund_id, outcome)

    async def _send_again(self, refund_id: str) -> Refund:
        now = self.clock.now()
        async with self.uow() as uow:
            refund = await uow.refunds.lock(refund_id)
            if refund.is_final:
                return refund
            refund.sending(now, FIRST_LOOK)
            await uow.refunds.save(refund)
            await uow.commit()
        return await self.send(refund)

    async def later(self, refund_id: str, problem: str) -> Refund:
        """Look at an open refund again after its backoff (the worker could not follow it now),
        never sooner than the next look the worker's claim set."""
        return await self._wait(refund_id, problem, keep_claim=True)

    async def _wait(self, refund_id: str, problem: str | None, flag_now: bool = False,
                    keep_claim: bool = False) -> Refund:
        """Look again later; flag for a person once it has been open ``ATTENTION_AFTER`` (or now)."""
        now = self.clock.now()
        flagged = False
        async with self.uow() as uow:
            refund = await uow.refunds.lock(refund_id)
            if refund.is_final:
                return refund
            if (flag_now or now - refund.created_at >= ATTENTION_AFTER) and not refund.needs_attention:
                refund.flag(problem or f"unresolved for {now - refund.created_at} after {refund.attempts} "
                                       "create call(s)", now)
                flagged = True
            after = next_look(refund, now)
            if not refund.needs_attention:  # the look that flags it lands at ATTENTION_AFTER, not past it
                after = min(after, max(refund.created_at + ATTENTION_AFTER - now, FIRST_LOOK))
            if keep_claim and refund.next_attempt_at is not None:
                after = max(after, refund.next_attempt_at - now)
            refund.schedule(now, after)
            await uow.refunds.save(refund)
            gateway = (await uow.payments.get(refund.payment_id)).gateway
            await uow.commit()
        if flagged:
            log.error("refund %s needs a person: %s", refund.id, refund.attention)
            self.on_attention(gateway)
        return refund

    async def settle(self, refund_id: str, outcome: RefundOutcome, payment_id: str | None = None,
                     answer: Answer | None = None) -> Refund:
        """Apply the gateway's word on a refund (a create answer, a webhook, a lookup). A success
        for a refund held as failed is recorded (flagged): money that left is never dropped.
        ``payment_id``: the refund's payment when the caller knows it (a refund never changes
        payment), which saves reading the refund before the locks."""
        now = self.clock.now()
        async with self.uow() as uow:
            if payment_id is None:
                payment_id = (await uow.refunds.get(refund_id)).payment_id
            payment = await uow.payments.lock(payment_id)  # payment first: the same lock order as _reserve
            refund = await uow.refunds.lock(refund_id)
            order = await uow.orders.lock(refund.order_id)
            status, before, flagged_before = outcome.status, refund.status, refund.needs_attention
            if refund.status is RefundStatus.SUCCEEDED or (refund.status is RefundStatus.FAILED
                                                           and status is not RefundStatus.SUCCEEDED):
                return refund
            if refund.status is RefundStatus.PENDING and status is not RefundStatus.FAILED:
                if outcome.gateway_refund_id or status is not RefundStatus.PENDING:
                    refund.mark_processing(outcome.gateway_refund_id, now)  # the gateway holds it now
            if status is RefundStatus.SUCCEEDED:
                await self._succeeded(uow, payment, order, refund, now)
            elif status is RefundStatus.FAILED:
                refund.fail(order.context(), outcome.error, now)
            elif outcome.gateway_refund_id and outcome.gateway_refund_id != refund.gateway_refund_id:
                refund.gateway_refund_id = outcome.gateway_refund_id
            if outcome.needs_attention and not refund.needs_attention:
                refund.flag(outcome.error or "the gateway needs someone to act on this refund", now)
            await uow.refunds.save(refund)
            await invalidation.stage(uow, self.cache, refunds=(refund,), orders=(order,))
            if answer is not None:
                answer(uow, refund)
            await uow.commit()
        if refund.needs_attention and (outcome.needs_attention or not flagged_before):
            if not flagged_before:  # a late success for a refund held failed is flagged here too
                log.error("refund %s needs a person: %s", refund.id, refund.attention)
            self.on_attention(payment.gateway)
        if refund.status is not before:
            self.on_status(refund.status.value)
        return refund

    async def _succeeded(self, uow: PaymentsUnitOfWork, payment: PaymentIntent, order, refund: Refund, now) -> None:
        refund.succeed(order.context(), now)
        await uow.ledger.append(Transaction(
            id=self.ids.new_id("txn"), payment_id=payment.id, order_id=order.id, type=TransactionType.REFUND,
            amount=refund.amount, currency=refund.currency, status=TransactionStatus.SUCCEEDED,
            gateway=payment.gateway, processed_at=now, gateway_reference=refund.gateway_refund_id,
            refund_id=refund.id))
        # the order's status follows the payment that paid it (and no other: a capture refunded
        # because it could not pay its order leaves that order as it is; None: paid before orders
        # recorded their payment)
        if order.payment_id == payment.id or (order.payment_id is None and order.status in _PAID):
            others = await uow.refunds.amounts(payment.id, excluding=refund.id)  # this one is succeeded now
            order.record_refunds(others.refunded + refund.amount, payment.captured_amount, now)
            await uow.orders.save(order)

    async def get(self, principal: Principal, refund_id: str) -> Refund:
        async with self.uow() as uow:
            refund = await uow.refunds.get(refund_id)
        return visible(refund, principal, "refund", refund_id=refund_id)

    async def list(self, principal: Principal, *, payment_id: str | None, limit: int, cursor: str | None) -> Page:
        return await self.read_model.list_refunds(owner_id=None if principal.is_admin else principal.id,
                                                  payment_id=payment_id, limit=limit, cursor=cursor)


def _lookup(refund: Refund, payment: PaymentIntent) -> RefundLookup:
    return RefundLookup(refund_id=refund.id, reference=payment.reference, gateway_reference=payment.gateway_reference,
                        gateway_refund_id=refund.gateway_refund_id, amount=refund.amount, currency=refund.currency)
