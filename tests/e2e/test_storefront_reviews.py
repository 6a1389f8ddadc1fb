"""Reviews and ratings over HTTP, on both backends: only a buyer of a paid (not refunded) order
reviews, once, and edits; the product's rating follows (its cache invalidated); admins hide and
show; bad input and another caller's review."""
from __future__ import annotations

import asyncio

BACKENDS = ("memory", "postgres")
API = "/api/v1"
RICE = "prd_ng_rice_5kg"


async def _bought(api, h: dict, key: str, refund: bool = False) -> None:
    order = await api.order(h, ship_to=None)
    payment = await api.initiate(h, order["id"], key)
    assert (await api.sandbox(payment, "approve"))["status"] == "succeeded"
    if refund:
        await api.refund(h, payment["id"], f"{key}-refund")


async def test_a_buyer_reviews_once_edits_and_the_rating_follows(api):
    alice, bob = await api.user("Alice"), await api.user("Bob")
    before = await api.json("GET", f"{API}/products/{RICE}", expect=200)  # cached from now on
    assert before["rating"] == {"average": None, "count": 0}
    refused = await api.json("POST", f"{API}/products/{RICE}/reviews", alice, json={"rating": 5, "body": "Tasty"},
                             expect=403)
    assert refused["code"] == "not_a_buyer"
    await _bought(api, alice, "alice-pays")
    resp, _ = await api.call("POST", f"{API}/products/{RICE}/reviews", alice, json={"rating": 5, "body": "Tasty"},
                             expect=201)
    assert resp.headers["RateLimit-Limit"] == "10"
    review = await resp.json()
    assert (review["author_name"], review["rating"], review["hidden"]) == ("Alice", 5, False)
    again = await api.json("POST", f"{API}/products/{RICE}/reviews", alice, json={"rating": 1, "body": "No"},
                           expect=409)
    assert again["code"] == "already_exists"
    await _bought(api, bob, "bob-pays")
    await api.json("POST", f"{API}/products/{RICE}/reviews", bob, json={"rating": 2, "body": "Stones in it"},
                   expect=201)
    assert (await api.json("GET", f"{API}/products/{RICE}", expect=200))["rating"] == {"average": 3.5, "count": 2}

    edited = await api.json("PATCH", f"{API}/reviews/{review['id']}", alice, json={"rating": 4}, expect=200)
    assert (edited["rating"], edited["body"]) == (4, "Tasty")
    await api.json("PATCH", f"{API}/reviews/{review['id']}", bob, json={"rating": 1}, expect=404)
    assert (await api.json("GET", f"{API}/products/{RICE}", expect=200))["rating"] == {"average": 3.0, "count": 2}
    page = await api.json("GET", f"{API}/products/{RICE}/reviews?limit=1", expect=200)
    rest = await api.json("GET", f"{API}/products/{RICE}/reviews?limit=1&cursor={page['next_cursor']}", expect=200)
    assert [r["author_name"] for r in page["results"] + rest["results"]] == ["Bob", "Alice"]
    listed = await api.json("GET", f"{API}/products?search=rice", expect=200)
    assert listed["results"][0]["rating"] == {"average": 3.0, "count": 2}


async def test_a_refunded_order_does_not_make_a_buyer(api):
    h = await api.user()
    await _bought(api, h, "pays-then-refunds", refund=True)
    problem = await api.json("POST", f"{API}/products/{RICE}/reviews", h, json={"rating": 1, "body": "Refunded"},
                             expect=403)
    assert problem["code"] == "not_a_buyer"


async def test_admins_hide_and_show_a_review_and_it_leaves_the_rating(api, admin):
    h = await api.user()
    await _bought(api, h, "spam-pays")
    spam = await api.json("POST", f"{API}/products/{RICE}/reviews", h, json={"rating": 1, "body": "cheap watches"},
                          expect=201)
    await api.json("GET", f"{API}/products/{RICE}/reviews", expect=200)  # cached
    await api.json("POST", f"{API}/admin/reviews/{spam['id']}/hide", h, json={}, expect=403)
    hidden = await api.json("POST", f"{API}/admin/reviews/{spam['id']}/hide", admin, json={"reason": "spam"},
                            expect=200)
    assert (hidden["hidden"], hidden["hidden_reason"]) == (True, "spam")
    assert (await api.json("GET", f"{API}/products/{RICE}/reviews", expect=200))["results"] == []
    assert (await api.json("GET", f"{API}/products/{RICE}", expect=200))["rating"] == {"average": None, "count": 0}
    moderated = await api.json("GET", f"{API}/admin/products/{RICE}/reviews", admin, expect=200)
    assert [r["id"] for r in moderated["results"]] == [spam["id"]]
    await api.json("GET", f"{API}/admin/products/{RICE}/reviews", h, expect=403)
    await api.json("POST", f"{API}/admin/reviews/{spam['id']}/show", admin, expect=200)
    assert (await api.json("GET", f"{API}/products/{RICE}", expect=200))["rating"] == {"average": 1.0, "count": 1}


async def test_bad_review_requests_are_refused(api):
    h = await api.user()
    await _bought(api, h, "bad-input-pays")
    for body in ({"rating": 0, "body": "x"}, {"rating": 6, "body": "x"}, {"rating": "5", "body": "x"},
                 {"rating": 4.5, "body": "x"}, {"rating": 5, "body": ""}, {"rating": 5},
                 {"rating": 5, "body": "x", "author_name": "Someone else"}):
        problem = await api.json("POST", f"{API}/products/{RICE}/reviews", h, json=body, expect=422)
        assert problem["code"] == "validation_error", body
    await api.json("POST", f"{API}/products/prd_nope/reviews", h, json={"rating": 5, "body": "x"}, expect=404)
    await api.json("GET", f"{API}/products/prd_nope/reviews", expect=404)
    await api.json("POST", f"{API}/products/{RICE}/reviews", json={"rating": 5, "body": "x"}, expect=401)
    await api.json("PATCH", f"{API}/reviews/rev_nope", h, json={"rating": 3}, expect=404)
    assert (await api.json("GET", f"{API}/products/{RICE}/reviews", expect=200))["results"] == []


async def test_reviews_sent_at_once_are_all_counted(api):
    """Ten buyers post their reviews of one product at the same moment: every one is in the rating
    (each write takes the product's row lock and recounts)."""
    buyers = [await api.user(f"Buyer {n}") for n in range(10)]
    for n, h in enumerate(buyers):
        await _bought(api, h, f"buyer-{n}-pays")
    stars = [5, 4, 4, 3, 1, 2, 5, 5, 3, 1]
    await asyncio.gather(*(api.json("POST", f"{API}/products/{RICE}/reviews", h, json={"rating": r, "body": "ok"},
                                    expect=201) for h, r in zip(buyers, stars)))
    rating = (await api.json("GET", f"{API}/products/{RICE}", expect=200))["rating"]
    assert rating == {"average": 3.3, "count": 10}, rating  # 33 stars / 10
    assert len((await api.json("GET", f"{API}/products/{RICE}/reviews?limit=100", expect=200))["results"]) == 10
