"""Redis Cluster-ready keys: every command or script that names several keys names keys of one hash
slot (computed with redis-py's ``key_slot``, as a cluster client would)."""
from __future__ import annotations

import pytest
from redis.crc import key_slot

from adapters.redis import RedisCache, RedisRateLimiter, RedisWebhookDedup
from adapters.redis.lean import lean
from application import cache_keys as keys
from application.caching import CacheAside
from application.invalidation import stale_keys
from domain.orders import Order, OrderStatus
from domain.payments import PaymentIntent, PaymentStatus, Refund, RefundStatus

pytestmark = pytest.mark.redis
#: commands that take several keys, and where they are (redis-py's argument positions)
MULTI_KEY = {"UNLINK", "DEL", "MGET", "MSET", "EXISTS", "RENAME", "SMOVE", "SUNIONSTORE", "ZUNIONSTORE"}


class Spy:
    """Wraps a client: records every command (and script call) a multi-key check needs."""

    def __init__(self, client) -> None:
        self.client, self.calls = client, []
        #: the commands of each transactional pipeline (MULTI ... EXEC), one list per pipeline
        self.transactions: list[list[tuple]] = []
        original = client.execute_command
        client.execute_command = self._recorded(original)
        self._pipeline = client.pipeline
        client.pipeline = self.pipeline
        batches = lean(client)  # the hot paths' batches (adapters/redis/lean.py): each command recorded
        send = batches.call

        async def batch(commands, *args, **kwargs):
            self.calls.extend(commands)
            return await send(commands, *args, **kwargs)
        batches.call = batch

    def _recorded(self, execute):
        async def run(*args, **options):
            self.calls.append(args)
            return await execute(*args, **options)
        return run

    def pipeline(self, *args, **kwargs):
        pipe = self._pipeline(*args, **kwargs)
        original = pipe.pipeline_execute_command
        block: list[tuple] = []
        if kwargs.get("transaction", args[0] if args else True):
            self.transactions.append(block)

        def queued(*command, **options):
            self.calls.append(command)
            block.append(command)
            return original(*command, **options)
        pipe.pipeline_execute_command = queued
        return pipe

    def multi_key(self) -> list[tuple[str, list[bytes]]]:
        """(command, its keys) for each call that named more than one key."""
        found = []
        for call in self.calls:
            name = str(call[0]).upper()
            if name in ("EVALSHA", "EVAL"):
                count = int(call[2])
                names = list(call[3:3 + count])
            elif name in MULTI_KEY:
                names = list(call[1:])
            else:
                continue
            if len(names) > 1:
                found.append((name, [n.encode() if isinstance(n, str) else n for n in names]))
        return found


def _one_slot(names) -> bool:
    return len({key_slot(n) for n in names}) == 1


def _entities():
    from datetime import UTC, datetime
    now = datetime(2026, 1, 1, tzinfo=UTC)
    order = Order(id="o1", order_number="PP-1", owner_id="u1", customer_email=None, customer_name=None, items=[],
                  currency="NGN", subtotal=1, discount=0, shipping=0, tax=0, total=1, status=OrderStatus.PENDING,
                  created_at=now, updated_at=now)
    payment = PaymentIntent(id="p1", order_id="o1", owner_id="u1", amount=1, currency="NGN", gateway="sandbox",
                            reference="r1", status=PaymentStatus.SUCCEEDED, created_at=now, updated_at=now,
                            expires_at=now)
    refund = Refund(id="rf1", payment_id="p1", order_id="o1", owner_id="u1", amount=1, currency="NGN",
                    reason="x", status=RefundStatus.PENDING, created_at=now, updated_at=now)
    return order, payment, refund


async def test_the_cache_never_names_two_slots_in_one_command(redis_client, prefix):
    spy = Spy(redis_client)
    cache = RedisCache(redis_client, prefix)
    aside = CacheAside(cache)
    order, payment, refund = _entities()
    stale, groups = stale_keys(orders=(order,), payments=(payment,), refunds=(refund,), product_ids=["prd1"],
                               categories=True)

    async def load() -> bytes:
        return b"v"
    for key in stale:
        await aside.get(key, 60, load)                      # the fill: a compare-and-set script
    for group in groups:
        await aside.get(keys.in_group(group, "limit=10"), 60, load, group=group)
    await aside.invalidate(*stale, groups=tuple(groups))   # bumps, unlinks, one round trip
    await cache.delete(*stale)
    await cache.set("{a}:x", b"1", 60)
    await cache.delete_pattern("{a}:*")
    scripts = [names for name, names in spy.multi_key() if name in ("EVALSHA", "EVAL")]
    assert len(scripts) >= len(stale)  # the check really saw the fills (a NOSCRIPT reload adds one)
    assert [(name, names) for name, names in spy.multi_key() if not _one_slot(names)] == []


async def test_each_resource_and_its_counters_share_a_slot():
    order, payment, refund = _entities()
    stale, groups = stale_keys(orders=(order,), payments=(payment,), refunds=(refund,), product_ids=["prd1"])
    prefix = "payport:"
    for key in stale:
        assert key_slot((prefix + key).encode()) == key_slot((prefix + key + ":gen").encode())
    for group in groups:
        assert key_slot((prefix + group + ":ver").encode()) == key_slot((prefix + keys.in_group(group, "q")).encode())
    assert keys.product("x:gen") != keys.product("x") + ":gen"  # an id cannot name a counter


async def test_limits_and_dedup_name_one_key_per_command(redis_client, prefix):
    spy = Spy(redis_client)
    await RedisRateLimiter(redis_client, prefix).hit("login:ip:1.2.3.4", 5, 60)
    dedup = RedisWebhookDedup(redis_client, prefix)
    await dedup.claim("stripe", "evt_1")
    await dedup.confirm("stripe", "evt_1")
    await dedup.forget("stripe", "evt_1")
    assert spy.calls and [(name, names) for name, names in spy.multi_key() if not _one_slot(names)] == []


def _transactions(spy: Spy) -> list[list[tuple]]:
    """The commands of each MULTI/EXEC block the spy saw (a transactional pipeline)."""
    return spy.transactions


async def test_every_key_name_is_a_hash_tag_and_its_counters_follow_it():
    """Each name ``application.cache_keys`` makes (the legacy one aside) is ``{...}``, so its
    ``:gen`` and ``:ver`` counters and its list pages hash with it."""
    import inspect

    made = []
    for name, fn in inspect.getmembers(keys, inspect.isfunction):
        if name.startswith("_") or name in ("in_group", "legacy_payment_config"):
            continue
        made.append(fn(*["a:1"] * len(inspect.signature(fn).parameters)))
    made += [keys.CATEGORIES, keys.PRODUCTS, keys.FAQ, keys.TAGS]
    assert {"{analytics:summary:a:1:a:1:a:1}", "{payment_config:a:1}"} <= set(made)
    for key in made:
        assert key.startswith("{") and key.index("}") == len(key) - 1, key
        for counter in (f"{key}:gen", f"{key}:ver", keys.in_group(key, "limit=10") + "#v3"):
            assert key_slot(f"payport:{counter}".encode()) == key_slot(f"payport:{key}".encode())
    # the name before issue 20 did cross slots: what the tag fixed
    old = keys.legacy_payment_config("stripe")
    assert key_slot(f"payport:{old}".encode()) != key_slot(f"payport:{old}:gen".encode())


async def test_the_analytics_and_gateway_configuration_fills_name_one_slot(redis_client, prefix):
    spy = Spy(redis_client)
    aside = CacheAside(RedisCache(redis_client, prefix))

    async def load() -> bytes:
        return b"{}"
    await aside.get(keys.analytics_summary("2026-01-01", "2026-01-30", "USD"), 60, load, "analytics")
    await aside.get(keys.payment_config("stripe"), 60, load, "payment_config")
    await aside.invalidate(keys.payment_config("stripe"), keys.legacy_payment_config("stripe"))
    scripts = [names for name, names in spy.multi_key() if name in ("EVALSHA", "EVAL")]
    assert len(scripts) >= 2
    assert [(name, names) for name, names in spy.multi_key() if not _one_slot(names)] == []


async def test_transactions_sessions_and_streams_name_one_slot(redis_client, prefix):
    """MULTI blocks (the counter's INCR + EXPIRE) keep to one slot; sessions and the Streams bus
    name one key per command (the stream and its dead letters are separate commands)."""
    from adapters.redis import RedisCheckoutSessionStore, RedisStreamsEventBus
    from tests.redis.test_redis_streams_bus import order_created

    spy = Spy(redis_client)
    cache = RedisCache(redis_client, prefix)
    await cache.incr(keys.order("o1") + ":gen")
    blocks = _transactions(spy)
    assert blocks and all(_one_slot([c[1].encode() for c in block]) for block in blocks)
    sessions = RedisCheckoutSessionStore(redis_client, prefix)
    await sessions.get("chk_1")
    await sessions.delete("chk_1")
    bus = RedisStreamsEventBus(redis_client, prefix=prefix)
    await bus.publish(order_created(1))
    await bus._dead_letter(b"0-1", {b"event": b"{}"}, "test")
    assert [(name, names) for name, names in spy.multi_key() if not _one_slot(names)] == []
    streams = [c for c in spy.calls if str(c[0]).upper() in ("XADD", "XACK")]
    assert streams and {c[1] for c in streams} == {bus.key, bus.dead_key}  # each names its one stream


def test_a_redis_prefix_cannot_hold_a_hash_tag():
    from entrypoints.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="may not contain"):
        load_settings({"PAYPORT_REDIS_PREFIX": "payport:{x}:"})
