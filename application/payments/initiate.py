"""Initiate a payment in three atomic phases, never holding a transaction across the gateway call.

1. Record the intent (order locked; at most one active intent per order) with OUR reference, which
   is derived from the caller's Idempotency-Key, so a retry after a crash finds the same intent.
   From this commit on the intent may have reached its gateway: the worker asks the gateway about
   it before it expires anything (a crash after phase 2 sent the request leaves no other trace).
2. Call the gateway with that reference (the gateway's own dedup key) and a request rebuilt only
   from what phase 1 recorded (so the worker can replay it to find a create whose answer was
   lost), failing over to the next gateway of the route only when nothing was done there
   (GatewayUnavailable); the intent records each gateway before it is tried.
3. Record what the gateway said. A timeout after sending, or an error only a repeat of an accepted
   call gets, is an unknown outcome: the intent goes to ``processing`` and is settled by a status
   query, never by initializing again elsewhere.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from application import invalidation, request_context
from application.caching import CacheAside
from application.errors import Conflict, GatewayError, GatewayTimeout, GatewayUnavailable, NotFound
from application.ownership import visible
from application.ports import (
    Clock,
    FraudChecker,
    GatewayRegistry,
    IdGenerator,
    InitializedPayment,
    InitializePayment,
)
from application.ports.gateways import gateway_status_of, is_repeat_failure
from application.ports.payments import PaymentsUnitOfWork
from domain.errors import InvalidValue, PaymentNotAllowed
from domain.orders import EventContext, Order, OrderStatus
from domain.payments import PAYMENT_TERMINAL, PaymentIntent, PaymentStatus
from domain.users import Principal

log = logging.getLogger(__name__)


#: the start of a blocked attempt's ``last_error`` (then the risk rules' reasons)
RISK_REFUSAL = "refused by the risk rules: "


def refused(payment: PaymentIntent) -> PaymentNotAllowed | None:
    """The refusal a blocked attempt answers (and answers again to a retry with its key)."""
    if payment.status is PaymentStatus.FAILED and (payment.last_error or "").startswith(RISK_REFUSAL):
        return PaymentNotAllowed("this payment was refused by our risk rules", payment_id=payment.id,
                                 reasons=payment.last_error[len(RISK_REFUSAL):].split("; "))
    return None


def payment_reference(scope: str, idempotency_key: str) -> str:
    """Deterministic, gateway-safe (alphanumeric) reference for one caller's idempotency key."""
    return "pp" + hashlib.sha256(f"{scope}\x00{idempotency_key}".encode()).hexdigest()[:30]


class InitiatePayment:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], gateways: GatewayRegistry, fraud: FraudChecker,
                 clock: Clock, ids: IdGenerator, public_url: str, cache: CacheAside | None = None) -> None:
        self.uow, self.gateways, self.fraud, self.clock, self.ids = uow, gateways, fraud, clock, ids
        self.public_url, self.cache = public_url.rstrip("/"), cache

    async def __call__(self, principal: Principal, *, order_id: str, idempotency_key: str,
                       gateway: str | None = None, email: str | None = None, phone: str | None = None,
                       return_url: str | None = None, country: str | None = None,
                       answer: Callable[[PaymentsUnitOfWork, PaymentIntent], None] | None = None) -> PaymentIntent:
        """``answer``: called with phase 3's unit of work and the intent as recorded, before its commit,
        when that is what the caller answers (not for a failure it raises), so that the caller's
        answer (the Idempotency-Key's stored response) commits in that transaction."""
        reference = payment_reference(principal.id, idempotency_key)
        payment, order, candidates = await self._record(principal, order_id, reference, gateway, email,
                                                        phone, return_url, country)
        if (refusal := refused(payment)) is not None:
            raise refusal  # blocked by the risk rules, now or on an earlier attempt with this key
        if payment.status is not PaymentStatus.REQUIRES_PAYMENT_METHOD:
            return payment  # already initiated by an earlier attempt with this key (or held for review)
        used, result, error = await self._call_gateways(payment, candidates, self.request_for(payment, order))
        return await self._record_outcome(payment.id, order.context(), used, result, error, answer=answer)

    def request_for(self, payment: PaymentIntent, order: Order) -> InitializePayment:
        """The gateway request, from what was recorded only: sent again it is the same request (the
        gateway's idempotency replays its first answer to it)."""
        return InitializePayment(
            reference=payment.reference, amount=payment.amount, currency=payment.currency,
            email=payment.email, phone=payment.phone,
            callback_url=f"{self.public_url}/api/v1/payment/payments/callback?reference={payment.reference}",
            description=f"Order {order.order_number}",
            metadata={"order_id": order.id, "payment_id": payment.id, "order_number": order.order_number},
            expires_at=payment.expires_at,
            items=tuple((line.name, line.quantity, line.total) for line in order.items),
        )

    async def release(self, payment_id: str) -> PaymentIntent:
        """A person approved a payment held before its gateway (the fraud review queue): it goes on
        to the gateway now, as phase 2 and 3 of its initiation would have."""
        now = self.clock.now()
        async with self.uow() as uow:
            payment = await uow.payments.lock(payment_id)
            if payment is None:
                raise NotFound("no such payment", payment_id=payment_id)
            order = await uow.orders.get(payment.order_id)
            payment.release_for_gateway(now)
            await uow.payments.save(payment)
            await uow.commit()
        candidates = [payment.gateway] + [g for g in self._routable(order.currency) if g != payment.gateway]
        used, result, error = await self._call_gateways(payment, candidates, self.request_for(payment, order))
        return await self._record_outcome(payment.id, order.context(), used, result, error)

    async def reject(self, payment_id: str, reason: str) -> PaymentIntent:
        """A person rejected a held payment: it fails (the customer is told) and the order may be paid
        another way."""
        now = self.clock.now()
        async with self.uow() as uow:
            payment = await uow.payments.lock(payment_id)
            if payment is None:
                raise NotFound("no such payment", payment_id=payment_id)
            order = await uow.orders.get(payment.order_id)
            payment.fail(order.context(), f"rejected on review: {reason}", now)
            await uow.payments.save(payment)
            await invalidation.stage(uow, self.cache, payments=(payment,))
            await uow.commit()
        return payment

    def _routable(self, currency: str) -> list[str]:
        return [name for name in self.gateways.route(currency, None) if self.gateways.get(name)]

    async def recover(self, payment: PaymentIntent) -> PaymentIntent:
        """Send an intent's create again to its own gateway (the worker, for a gateway that cannot
        find a payment by our reference): the gateway replays the page it made, or makes the one a
        crash kept from it; the answer is recorded as in phase 3."""
        async with self.uow() as uow:
            order = await uow.orders.get(payment.order_id)
        gateway = self.gateways.get(payment.gateway)
        try:
            result, error = await gateway.initialize_payment(self.request_for(payment, order)), None
        except GatewayError as exc:
            result, error = None, exc
        return await self._record_outcome(payment.id, order.context(), payment.gateway, result, error,
                                          recovering=True)

    # -- phase 1 -----------------------------------------------------------------------------------
    async def _record(self, principal, order_id, reference, gateway, email, phone, return_url, country
                      ) -> tuple[PaymentIntent, Order, list[str]]:
        now = self.clock.now()
        async with self.uow() as uow:
            order = visible(await uow.orders.lock(order_id), principal, "order", order_id=order_id)
            existing, active = await uow.payments.by_reference_or_active(reference, order.id)  # one round trip
            if existing is not None:
                if existing.order_id != order.id:
                    raise Conflict("this Idempotency-Key was used for another order")
                return existing, order, [existing.gateway]
            if order.status is not OrderStatus.PENDING:
                raise PaymentNotAllowed(f"an order in status {order.status.value} cannot be paid",
                                        status=order.status.value)
            if active is not None:
                raise Conflict("a payment for this order is already in progress", payment_id=active.id)
            candidates = self._route(gateway, order.currency, country)
            email = email or order.customer_email
            decision = await self.fraud.assess(
                user_id=principal.id, amount=order.total, currency=order.currency, email=email,
                client_ip=request_context.client_ip(), country=country,
                guest_id=principal.id if principal.is_guest else None, reference=reference, context=order.context())
            payment = PaymentIntent.create(
                id=self.ids.new_id("pay"), order_id=order.id, owner_id=order.owner_id, amount=order.total,
                currency=order.currency, gateway=candidates[0], reference=reference, now=now,
                return_url=return_url, email=email, phone=phone,
            )
            if decision.review:  # held before any gateway call: a person approves or rejects it
                payment.hold_for_review("risk rules: " + "; ".join(decision.reasons), now)
            elif not decision.allow:  # blocked: the attempt is recorded as failed, with its reasons
                # (PaymentFailed tells the customer; the order stays payable another way)
                payment.fail(order.context(), RISK_REFUSAL + "; ".join(decision.reasons), now)
                await invalidation.stage(uow, self.cache, payments=(payment,))
            await uow.payments.add(payment)
            await uow.commit()
        return payment, order, candidates

    def _route(self, gateway: str | None, currency: str, country: str | None) -> list[str]:
        if gateway is not None:
            chosen = self.gateways.get(gateway)
            if chosen is None:
                raise InvalidValue(f"gateway {gateway!r} is not enabled", field="gateway",
                                   enabled=self.gateways.names())
            if currency not in chosen.currencies:
                raise InvalidValue(f"gateway {gateway!r} does not take {currency}", field="gateway")
            return [gateway]
        route = [name for name in self.gateways.route(currency, country) if self.gateways.get(name)]
        if not route:
            raise PaymentNotAllowed(f"no enabled gateway takes {currency}", currency=currency)
        return route

    # -- phase 2 -----------------------------------------------------------------------------------
    async def _call_gateways(self, payment: PaymentIntent, candidates: list[str], request: InitializePayment
                             ) -> tuple[str, InitializedPayment | None, GatewayError | None]:
        error: GatewayError | None = None
        for n, name in enumerate(candidates):
            if n:  # recorded before it is tried: a crash now leaves the worker the gateway to ask
                await self._trying(payment.id, name)
            try:
                return name, await self.gateways.get(name).initialize_payment(request), None
            except GatewayError as exc:
                if not _nothing_done(exc):  # a refusal or an unknown outcome: never try another gateway
                    return name, None, exc
                log.warning("gateway %s unavailable for %s: %s", name, request.reference, exc.message)
                error = exc  # nothing was done there: the next gateway may be tried
        return candidates[-1], None, error

    async def _trying(self, payment_id: str, gateway: str) -> None:
        async with self.uow() as uow:
            payment = await uow.payments.lock(payment_id)
            if payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD and payment.gateway != gateway:
                payment.gateway, payment.version = gateway, payment.version + 1
                await uow.payments.save(payment)
                await uow.commit()

    # -- phase 3 -----------------------------------------------------------------------------------
    async def _record_outcome(self, payment_id: str, ctx: EventContext, gateway: str,
                              result: InitializedPayment | None, error: GatewayError | None,
                              recovering: bool = False,
                              answer: Callable[[PaymentsUnitOfWork, PaymentIntent], None] | None = None
                              ) -> PaymentIntent:
        """``ctx``: the order's event context from phase 1 (who and which order: fields that never
        change). ``recovering``: the worker's replay of a lost create, which raises nothing."""
        now = self.clock.now()
        pushes = getattr(self.gateways.get(gateway), "pushes_to_payer", False)
        unknown = error is not None and (_outcome_unknown(error, pushes) or recovering)
        async with self.uow() as uow:
            payment = await uow.payments.lock(payment_id)
            if payment.status is PaymentStatus.REQUIRES_PAYMENT_METHOD:
                payment.gateway = gateway
                if result is not None:
                    # a final outcome at initialization is settled like any other: by verifying it
                    status = PaymentStatus.PROCESSING if result.status in PAYMENT_TERMINAL else result.status
                    payment.started(ctx, result.gateway_reference, result.authorization_url, status, now)
                elif unknown:
                    payment.attempts += 1
                    payment.last_error = f"outcome unknown ({error.message}); settling by status query"
                    payment.mark(PaymentStatus.PROCESSING, now)
                else:
                    payment.attempts += 1
                    payment.fail(ctx, error.message if error else "no gateway answered", now)
                await uow.payments.save(payment)
                await invalidation.stage(uow, self.cache, payments=(payment,))
                if answer is not None and (error is None or unknown):  # what the caller answers: not an error
                    answer(uow, payment)
                await uow.commit()
            elif recovering and result is not None and payment.is_live and payment.gateway_reference is None:
                # the replay of a create whose answer was lost (the intent went to processing): the
                # page the gateway made is recorded now, and the intent stays processing until a
                # status query with that reference says more (it never moves back)
                payment.started(ctx, result.gateway_reference, result.authorization_url, payment.status, now)
                await uow.payments.save(payment)
                await invalidation.stage(uow, self.cache, payments=(payment,))
                await uow.commit()
        if error is not None and not unknown:
            raise error
        return payment


def _nothing_done(error: GatewayError) -> bool:
    """Nothing was (knowingly) done at the gateway: not reached, circuit open, or rate-limited."""
    return isinstance(error, GatewayUnavailable) or gateway_status_of(error)[0] == 429


def _outcome_unknown(error: GatewayError, pushes_to_payer: bool) -> bool:
    """The request reached the gateway and we cannot tell what it did: no answer, an error only a
    repeat of an accepted call gets, or (at a gateway that pushes a prompt to the payer's phone,
    MTN MoMo) a server error: the prompt may be on the handset already and the payer may approve
    it. Settled by a status query. (A redirect gateway's 5xx fails the attempt: nobody holds a
    page to pay on, and the next attempt has a reference of its own.)"""
    status = gateway_status_of(error)[0]
    return (isinstance(error, GatewayTimeout) or is_repeat_failure(error)
            or (pushes_to_payer and status is not None and status >= 500))
