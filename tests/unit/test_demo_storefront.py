"""The embedded default's storefront demo data loads through the use cases, once (issue 18)."""
from __future__ import annotations

from adapters.demo import CATEGORIES, TAGS, demo_coupons, demo_faq, demo_products, demo_reviews
from adapters.memory.read_model import MemoryReadModel
from application.catalog import Catalog
from application.reviews import Reviews
from application.support.faq import Faq
from tests.unit.storefront_support import World


async def test_tags_reviews_and_the_faq_load_once_and_show_at_once():
    world = World.make()
    catalog = Catalog(world.uow, MemoryReadModel(world.store), world.ids)
    reviews, faq = Reviews(world.uow, world.ids, world.clock), Faq(world.uow, world.ids, world.clock)
    for _ in range(2):  # every start loads what is missing: the second adds nothing
        await catalog.seed(CATEGORIES, demo_products(), demo_coupons(), TAGS)
        await reviews.seed(demo_reviews())
        await faq.seed(*demo_faq())
    assert {t.slug for t in await catalog.tags()} == {"bestseller", "gift-ideas", "made-in-africa", "staples"}
    gifts = await catalog.products(category=None, search=None, include_inactive=False, limit=20, cursor=None,
                                   tag="gift-ideas")
    assert len(gifts.results) == 4
    phone = await catalog.product("prd_ng_phone_01")
    assert (phone.rating.count, phone.rating.average) == (2, 4.5)
    page = await reviews.list("prd_ng_phone_01", include_hidden=False, limit=10, cursor=None)
    assert [r.author_name for r in page.results] == ["Funmi", "Chidi"]
    sections = (await faq.page()).sections
    assert [s.slug for s, _ in sections] == ["ordering", "payments", "delivery", "returns"]
    assert sum(len(entries) for _, entries in sections) == 6
