"""Payment reads and the customer's "check status" (which asks the gateway when not final)."""
from __future__ import annotations

from collections.abc import Callable

from application.ownership import visible
from application.payments.settle import PaymentSettlement
from application.ports import Page, ReadModel
from application.ports.payments import PaymentsUnitOfWork
from domain.errors import InvalidValue
from domain.payments import PaymentIntent, PaymentStatus
from domain.users import Principal


class Payments:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork], read_model: ReadModel,
                 settlement: PaymentSettlement) -> None:
        self.uow, self.read_model, self.settlement = uow, read_model, settlement

    async def get(self, principal: Principal, payment_id: str) -> PaymentIntent:
        async with self.uow() as uow:
            payment = await uow.payments.get(payment_id)
        return visible(payment, principal, "payment", payment_id=payment_id)

    async def check_status(self, principal: Principal, payment_id: str) -> PaymentIntent:
        payment = await self.get(principal, payment_id)
        if payment.status is PaymentStatus.SUCCEEDED or (
                payment.status is PaymentStatus.REQUIRES_REVIEW and not payment.attempts):
            return payment  # nothing can move it, or it never reached its gateway
        return await self.settlement.verify_and_apply(payment.reference)  # even unpaid ends: a late capture

    async def list(self, principal: Principal, *, status: str | None, order_id: str | None, limit: int,
                   cursor: str | None) -> Page:
        if status is not None and status not in {s.value for s in PaymentStatus}:
            raise InvalidValue(f"unknown payment status {status!r}", field="status")
        return await self.read_model.list_payments(owner_id=None if principal.is_admin else principal.id,
                                                   status=status, order_id=order_id, limit=limit, cursor=cursor)
