"""What the storefront's use-case tests share: the memory adapters, a fake clock, principals, a
catalog and paid orders (issue 18)."""
from __future__ import annotations

import attrs

from adapters.memory.infrastructure import InMemoryEventBus
from adapters.memory.store import MemoryStore
from adapters.memory.uow import MemoryUnitOfWorkFactory
from adapters.system import FakeClock, RandomIds
from domain.catalog import Product
from domain.checkout import LineItem
from domain.money import Money
from domain.orders import Order, OrderStatus
from domain.users import Principal, Role

ADA = Principal("usr_ada", Role.CUSTOMER, "ada@example.com", "Ada")
BOLA = Principal("usr_bola", Role.CUSTOMER, "bola@example.com", "Bola")
ADMIN = Principal("usr_admin", Role.ADMIN, "admin@example.com", "Admin")
GUEST = Principal("gst_1", Role.GUEST)


@attrs.define(slots=False)  # tests hang the use cases they need on it
class World:
    store: MemoryStore
    uow: MemoryUnitOfWorkFactory
    clock: FakeClock
    ids: RandomIds

    @classmethod
    def make(cls) -> World:
        store, clock = MemoryStore(), FakeClock()
        return cls(store, MemoryUnitOfWorkFactory(store, InMemoryEventBus()), clock, RandomIds(clock))

    async def products(self, *products: Product) -> None:
        async with self.uow() as uow:
            for product in products:
                await uow.products.add(product)
            await uow.commit()

    async def order(self, owner: Principal, *skus: str, status: OrderStatus = OrderStatus.PAID,
                    id: str | None = None) -> Order:
        items = [LineItem(sku, f"prd_{sku}", sku, 1000, 1) for sku in skus]
        order = Order.place(id=id or self.ids.new_id("ord"), order_number=self.ids.order_number(), owner=owner,
                            items=items, currency="NGN", subtotal=1000 * len(items), discount=0, shipping=0, tax=0,
                            total=1000 * len(items), now=self.clock.now())
        order.status = status
        async with self.uow() as uow:
            await uow.orders.add(order)
            await uow.commit()
        return order


def product(sku: str = "TEE", price: int = 1500, currency: str = "NGN", stock: int = 10, active: bool = True,
            tags: tuple[str, ...] = ()) -> Product:
    return Product(id=f"prd_{sku}", sku=sku, name=sku.title(), price=Money(price, currency), stock=stock,
                   category="fashion", active=active, tags=tags)
