"""What an unsigned gateway message (MTN MoMo's callback: our reference and its token in the query
string) may make us store. The intake (``application/payments/webhooks.py``) stores every verified
message in the inbox; for a weakly authenticated gateway this guard runs first, so a message naming
no payment of that gateway is answered without a row, and one source cannot fill the inbox."""
from __future__ import annotations

from collections.abc import Callable

from application.ports.payments import PaymentsUnitOfWork


class InboxGuard:
    def __init__(self, uow: Callable[[], PaymentsUnitOfWork]) -> None:
        self.uow = uow

    async def names_a_payment_of(self, gateway: str, reference: str) -> bool:
        """Whether ``reference`` is one of our payments, made through ``gateway`` (a message about
        another gateway's payment is never stored, and never makes us ask any gateway)."""
        async with self.uow() as uow:
            payment = await uow.payments.get_by_reference(reference)
        return payment is not None and payment.gateway == gateway
