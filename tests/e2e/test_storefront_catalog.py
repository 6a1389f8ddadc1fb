"""Tags and ratings in the catalog over HTTP, on both backends: the demo's tags, ?tag=, admin
writes (others 403, bad input 422), the product and tag caches invalidated after each write."""
from __future__ import annotations

BACKENDS = ("memory", "postgres")
API = "/api/v1"
TEA = "prd_ke_tea_500g"


async def test_tags_filter_products_and_admin_writes_invalidate_the_caches(api, admin):
    tags = await api.json("GET", f"{API}/tags", expect=200)
    assert {t["slug"] for t in tags} == {"bestseller", "gift-ideas", "made-in-africa", "staples"}
    gifts = await api.json("GET", f"{API}/products?tag=gift-ideas&limit=100", expect=200)
    assert {p["sku"] for p in gifts["results"]} == {"NG-ANKARA-01", "US-HEADPHONES", "US-BOOK-DDD", "GH-KENTE-01"}
    tea = await api.json("GET", f"{API}/products/{TEA}", expect=200)  # cached from now on
    assert tea["tags"] == ["made-in-africa", "staples", "bestseller"] and tea["rating"] == {"average": 5.0, "count": 1}
    assert (await api.json("GET", f"{API}/products?tag=nothing-here", expect=200))["results"] == []

    assert (await api.json("PUT", f"{API}/tags/breakfast", admin, json={"name": "Breakfast"}, expect=200)) == {
        "slug": "breakfast", "name": "Breakfast"}
    assert "breakfast" in {t["slug"] for t in await api.json("GET", f"{API}/tags", expect=200)}
    changed = await api.json("PATCH", f"{API}/products/{TEA}", admin, json={"tags": ["breakfast"]}, expect=200)
    assert changed["tags"] == ["breakfast"]
    assert (await api.json("GET", f"{API}/products/{TEA}", expect=200))["tags"] == ["breakfast"]
    listed = await api.json("GET", f"{API}/products?tag=breakfast", expect=200)
    assert [p["id"] for p in listed["results"]] == [TEA]

    await api.json("DELETE", f"{API}/tags/breakfast", admin, expect=200)
    assert (await api.json("GET", f"{API}/products/{TEA}", expect=200))["tags"] == []
    assert "breakfast" not in {t["slug"] for t in await api.json("GET", f"{API}/tags", expect=200)}
    created = await api.json("POST", f"{API}/products", admin, expect=201, json={
        "sku": "NG-SHEA-01", "name": "Shea butter", "price": 250_000, "currency": "NGN", "stock": 5,
        "category": "groceries", "tags": ["made-in-africa"]})
    assert created["tags"] == ["made-in-africa"] and created["rating"] == {"average": None, "count": 0}


async def test_tag_writes_are_admins_and_bad_ones_are_refused(api, admin):
    h = await api.user()
    assert (await api.json("PUT", f"{API}/tags/sale", h, json={"name": "Sale"}, expect=403))["code"] == "forbidden"
    await api.json("PUT", f"{API}/tags/sale", json={"name": "Sale"}, expect=401)
    await api.json("DELETE", f"{API}/tags/staples", h, expect=403)
    cases = [
        ("PUT", f"{API}/tags/Not-A-Slug", {"name": "x"}, 422, "invalid_value"),
        ("PUT", f"{API}/tags/sale", {"name": ""}, 422, "validation_error"),
        ("PUT", f"{API}/tags/sale", {"name": "Sale", "colour": "red"}, 422, "validation_error"),
        ("PATCH", f"{API}/products/{TEA}", {"tags": ["unknown-tag"]}, 422, "invalid_value"),
        ("PATCH", f"{API}/products/{TEA}", {"tags": ["Bad Tag"]}, 422, "validation_error"),
        ("DELETE", f"{API}/tags/never-made", None, 404, "not_found"),
    ]
    for method, path, body, status, code in cases:
        problem = await api.json(method, path, admin, json=body, expect=status)
        assert problem["code"] == code, (method, path, problem)
    tea = await api.json("GET", f"{API}/products/{TEA}", expect=200)
    assert tea["tags"] == ["made-in-africa", "staples", "bestseller"]
    long = "x" * 101
    assert (await api.json("GET", f"{API}/products?tag={long}", expect=422))["errors"][0]["field"] == "tag"
