"""Use cases: create an order directly, read orders, cancel a pending one, expire stale pending ones."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import timedelta

from application import invalidation
from application.caching import CacheAside
from application.checkout import load_products
from application.errors import Conflict
from application.jobs import each_isolated
from application.ownership import visible
from application.ports import Clock, IdGenerator, Page, ReadModel
from application.ports.maintenance import MaintenanceQueries
from application.ports.orders import OrdersUnitOfWork
from domain.catalog import check_quantity
from domain.checkout import LineItem
from domain.errors import CurrencyMismatch, IllegalTransition, InvalidValue
from domain.money import Money
from domain.orders import Order, OrderStatus
from domain.pricing import HOME_COUNTRY_OF_CURRENCY, TaxRules
from domain.users import Principal


class Orders:
    def __init__(self, uow: Callable[[], OrdersUnitOfWork], read_model: ReadModel, clock: Clock, ids: IdGenerator,
                 tax_rules: TaxRules, cache: CacheAside | None = None, queries: MaintenanceQueries | None = None,
                 pending_window: timedelta = timedelta(hours=1)) -> None:
        self.uow, self.read_model, self.clock, self.ids = uow, read_model, clock, ids
        self.taxes, self.cache = tax_rules, cache
        self.queries, self.pending_window = queries, pending_window

    async def create(self, principal: Principal, items: Sequence[tuple[str, int]],
                     workspace_id: str | None = None, idempotency_key: str | None = None) -> Order:
        """An order straight from items (no checkout session): priced now, stock taken now. With the
        caller's Idempotency-Key the order id comes from it: a retry after a crash finds the order
        instead of taking the stock a second time."""
        order_id = self._id_for(principal.id, idempotency_key)
        if idempotency_key:
            async with self.uow() as uow:
                earlier = await uow.orders.get(order_id)
            if earlier is not None:
                return earlier
        if not items:
            raise InvalidValue("an order needs at least one item", field="items")
        merged: dict[str, int] = {}
        for sku, quantity in items:
            check_quantity(quantity)
            merged[sku] = merged.get(sku, 0) + quantity
        now = self.clock.now()
        async with self.uow() as uow:
            lines = await load_products(uow, list(merged.items()), lock=True)
            currencies = {p.price.currency for p, _ in lines}
            if len(currencies) != 1:
                raise CurrencyMismatch("all items of an order must be in one currency")
            currency = currencies.pop()
            line_items = []
            for product, quantity in lines:
                check_quantity(quantity)
                product.take_stock(quantity)
                await uow.products.save(product)
                line_items.append(LineItem(product.sku, product.id, product.name, product.price.amount, quantity))
            subtotal = Money(sum(i.total for i in line_items), currency)
            tax, inclusive = self.taxes.tax_on(subtotal, HOME_COUNTRY_OF_CURRENCY.get(currency, "*"))
            total = subtotal.amount + (0 if inclusive else tax.amount)
            order = Order.place(
                id=order_id, order_number=self.ids.order_number(), owner=principal,
                items=line_items, currency=currency, subtotal=subtotal.amount, discount=0, shipping=0,
                tax=tax.amount, total=total, now=now, workspace_id=workspace_id,
            )
            await uow.orders.add(order)
            await invalidation.stage(uow, self.cache, product_ids=[p.id for p, _ in lines], orders=(order,))
            await uow.commit()
        return order

    def _id_for(self, scope: str, idempotency_key: str | None) -> str:
        if not idempotency_key:
            return self.ids.new_id("ord")
        return "ord_" + hashlib.sha256(f"{scope}\x00order\x00{idempotency_key}".encode()).hexdigest()[:24]

    async def get(self, principal: Principal, order_id: str) -> Order:
        async with self.uow() as uow:
            order = await uow.orders.get(order_id)
        return visible(order, principal, "order", order_id=order_id)

    async def list(self, principal: Principal, *, status: str | None, workspace_id: str | None,
                   search: str | None, limit: int, cursor: str | None) -> Page:
        if status is not None and status not in {s.value for s in OrderStatus}:
            raise InvalidValue(f"unknown order status {status!r}", field="status")
        return await self.read_model.list_orders(
            owner_id=None if principal.is_admin else principal.id, status=status,
            workspace_id=workspace_id, search=search, limit=limit, cursor=cursor)

    async def cancel(self, principal: Principal, order_id: str) -> Order:
        """Cancel a pending order and put its stock back; refused while a payment is in progress
        (a paid one is cancelled with its refund: ``application.cancellation``)."""
        now = self.clock.now()
        async with self.uow() as uow:
            order = visible(await uow.orders.lock(order_id), principal, "order", order_id=order_id)
            if order.status is not OrderStatus.PENDING:
                raise IllegalTransition(f"a {order.status.value} order is not cancelled this way",
                                        entity="order", current=order.status.value, requested="cancelled")
            active = await uow.payments.active_for_order(order.id)
            if active is not None:
                raise Conflict("a payment for this order is in progress; it cannot be cancelled now",
                               payment_id=active.id)
            order.cancel(now, by=principal.id)
            restocked = await restock(uow, order)
            await uow.orders.save(order)
            await invalidation.stage(uow, self.cache, product_ids=restocked, orders=(order,))
            await uow.commit()
        return order

    async def expire_stale(self, limit: int = 100) -> int:
        """The worker's job: pending orders placed more than ``pending_window`` ago give their stock
        back and end ``failed``. An order with a live payment waits: that payment's own expiry
        (which closes its page at the gateway first) comes before, and a success it brings still
        pays the order. Returns how many orders expired."""
        if self.queries is None:
            return 0
        stale = await self.queries.stale_pending_orders(created_before=self.clock.now() - self.pending_window,
                                                        limit=limit)
        return await each_isolated(stale, lambda order: self._expire(order.id), "expiring order")

    async def _expire(self, order_id: str) -> bool:
        now = self.clock.now()
        async with self.uow() as uow:
            order = await uow.orders.lock(order_id)
            if order is None or order.status is not OrderStatus.PENDING:
                return False
            if await uow.payments.active_for_order(order.id) is not None:
                return False
            order.fail(now)
            restocked = await restock(uow, order)
            await uow.orders.save(order)
            await invalidation.stage(uow, self.cache, product_ids=restocked, orders=(order,))
            await uow.commit()
        return True


async def restock(uow: OrdersUnitOfWork, order: Order) -> list[str]:
    """Put a cancelled or expired order's items back in stock (products locked); the products' ids."""
    lines = await load_products(uow, [(i.sku, i.quantity) for i in order.items], lock=True)
    for product, quantity in lines:
        product.release_stock(quantity)
        await uow.products.save(product)
    return [p.id for p, _ in lines]
