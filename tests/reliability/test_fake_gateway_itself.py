"""The fake gateway keeps Stripe's documented idempotency rules (the battery relies on them):
same key and parameters replay the first answer, other parameters answer 400, a key in use 409,
a validation refusal stores nothing, a pruned key makes a new request."""
from __future__ import annotations

import asyncio

from tests.reliability.fake_gateway import delay, server_error

FORM = {"mode": "payment", "line_items[0][quantity]": "1", "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "2550", "client_reference_id": "pay_ref_001"}


async def post(session, fake, key: str, form: dict) -> tuple[int, dict]:
    async with session.post(f"{fake.url('stripe')}/v1/checkout/sessions", data=form,
                            headers={"Authorization": "Bearer sk_test_fake", "Idempotency-Key": key}) as resp:
        return resp.status, await resp.json()


async def test_replay_mismatch_and_pruning(session, fake, clock):
    status, first = await post(session, fake, "k1", FORM)
    assert status == 200 and first["id"].startswith("cs_test_")
    assert await post(session, fake, "k1", FORM) == (200, first)
    status, body = await post(session, fake, "k1", {**FORM, "line_items[0][price_data][unit_amount]": "1"})
    assert (status, body["error"]["type"]) == (400, "idempotency_error")
    clock.advance(24 * 3600)
    status, fresh = await post(session, fake, "k1", FORM)
    assert status == 200 and fresh["id"] != first["id"] and len(fake.stripe.sessions) == 2


async def test_validation_stores_nothing_and_a_stored_5xx_is_replayed(session, fake, clock):
    too_soon = {**FORM, "expires_at": str(int(clock.now().timestamp()) + 600)}
    status, body = await post(session, fake, "k2", too_soon)
    assert (status, body["error"]["param"]) == (400, "expires_at")
    assert (await post(session, fake, "k2", FORM))[0] == 200  # the key was free for other parameters
    fake.script("stripe.checkout.create", server_error(500, stored=True))
    assert (await post(session, fake, "k3", FORM))[0] == 500
    assert (await post(session, fake, "k3", FORM))[0] == 500  # the endpoint ran: its 500 is the answer


async def test_a_key_in_use_answers_409(session, fake):
    fake.script("stripe.checkout.create", delay(0.3))
    (s1, b1), (s2, b2) = await asyncio.gather(post(session, fake, "k4", FORM), post(session, fake, "k4", FORM))
    assert sorted([s1, s2]) == [200, 409]
    assert (b1 if s1 == 409 else b2)["error"]["code"] == "idempotency_key_in_use"
    assert len(fake.stripe.sessions) == 1
