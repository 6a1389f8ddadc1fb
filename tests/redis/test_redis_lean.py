"""adapters/redis/lean.py: batches sent in one write on connections of their own. What must hold is
what redis-py's pipeline guaranteed: every reply goes to the command that asked, a failure never
leaves a reply for the next caller, a dropped connection is survived, and closing the client closes
them."""
from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import DataError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from adapters.redis.lean import _packed, close, lean

pytestmark = pytest.mark.redis


async def test_the_pinned_redis_py_takes_the_lean_path(redis_client):
    # with another redis-py the batches still work (through a redis-py pipeline), but this fails so
    # that the loss of the lean path is seen
    assert lean(redis_client).lean is True
    assert lean(redis_client) is lean(redis_client)  # one per client


def test_commands_are_packed_to_the_same_bytes_as_redis_py_packs_them(redis_client):
    conn = redis_client.connection_pool.make_connection()
    big = bytes(range(256)) * 40  # past redis-py's buffer cutoff, which it sends in chunks
    batches = [
        [("SET", "k", b"v", "PX", 60_000), ("GET", "k")],
        [("EVALSHA", "a" * 40, 1, "rl:{u}", 100, 60_000_000, -3, 0.1 + 0.2, 1e20, 2**70)],
        [("SET", "é:ключ", "значение ✓", "EX", 1800), (b"GET", b"\x00\xff")],
        [("SET", "big", big), ("UNLINK", "a", "b", "c")],
        [("SET", "m", memoryview(b"view"))],
        [("SET", "b", bytearray(b"array"))],  # hiredis takes no bytearray: redis-py's packer
        [("CONFIG GET", "maxmemory")],  # a name with a space: redis-py splits it
    ]
    expected = [b"".join(bytes(c) for c in conn.pack_commands(commands)) for commands in batches]
    by_redis_py = []
    conn.pack_commands = lambda commands, pack=conn.pack_commands: by_redis_py.append(commands) or pack(commands)
    assert [b"".join(_packed(conn, commands)) for commands in batches] == expected
    assert by_redis_py == batches[-2:]  # all the others packed by hiredis
    with pytest.raises(DataError):  # what redis-py refuses is refused with redis-py's error
        _packed(conn, [("SET", "k", True)])


async def test_each_reply_goes_to_its_command_and_error_replies_are_raised_or_returned(redis_client, prefix):
    batch = lean(redis_client)
    k, h = prefix + "k", prefix + "h"
    replies = await batch.call([("SET", k, b"v", "PX", 60_000), ("GET", k), ("INCRBY", prefix + "n", 5),
                                ("MGET", k, prefix + "missing"), ("HSET", h, "f", "1")])
    assert replies == [b"OK", b"v", 5, [b"v", None], 1]
    with pytest.raises(ResponseError):  # a command on a key of the wrong type
        await batch.call([("INCRBY", k, 1), ("GET", k)])
    replies = await batch.call([("INCRBY", k, 1), ("GET", k), ("GET", h)], raise_on_error=False)
    assert isinstance(replies[0], ResponseError) and replies[1] == b"v" and isinstance(replies[2], ResponseError)
    assert await batch.call([("GET", k)]) == [b"v"]  # every reply of the failed batches was read


async def test_a_timeout_disconnects_so_no_late_reply_reaches_the_next_call(client_factory, prefix):
    client = await client_factory(socket_timeout=0.2, retries=0)
    batch = lean(client)
    await batch.call([("SET", prefix + "k", b"mine", "PX", 60_000)])
    # BLPOP blocks this connection alone for 1 s: its reply (None) would arrive late
    with pytest.raises(RedisTimeoutError):
        await batch.call([("GET", prefix + "k"), ("BLPOP", prefix + "empty", 1), ("GET", prefix + "k")])
    await asyncio.sleep(1.1)  # the late reply has arrived on the old connection by now
    assert await batch.call([("INCRBY", prefix + "n", 1), ("GET", prefix + "k")]) == [1, b"mine"]


async def test_a_connection_dropped_by_the_server_is_retried_on_a_fresh_one(client_factory, redis_client, prefix):
    client = await client_factory(client_name="lean-kill-test", retries=1)
    batch = lean(client)
    await batch.call([("SET", prefix + "k", b"v", "PX", 60_000)])
    for info in await redis_client.client_list():
        if info.get("name") == "lean-kill-test":
            await redis_client.client_kill_filter(_id=info["id"])
    assert await batch.call([("GET", prefix + "k")]) == [b"v"]  # sent again on a new connection


async def test_closing_the_client_disconnects_its_lean_connections(client_factory, redis_client, prefix):
    client = await client_factory(client_name="lean-close-test")
    batch = lean(client)
    await asyncio.gather(*(batch.call([("GET", prefix + "k")]) for _ in range(3)))
    names = [c.get("name") for c in await redis_client.client_list()]
    assert names.count("lean-close-test") >= 3  # three at once: three connections of its own
    await close(client)
    await asyncio.sleep(0.1)
    names = [c.get("name") for c in await redis_client.client_list()]
    assert "lean-close-test" not in names


async def test_scripts_sent_lean_are_loaded_again_after_a_script_flush(redis_client, prefix):
    """A Redis restarted or flushed answers NOSCRIPT to the batches' EVALSHA: the call is made again
    with the script (and counted once: the rate limit's hit, the fill's compare-and-set)."""
    from adapters.redis import RedisCache, RedisRateLimiter

    cache, limiter = RedisCache(redis_client, prefix), RedisRateLimiter(redis_client, prefix)
    for _ in range(2):
        await redis_client.script_flush()
        assert await cache.set_if_unchanged("order:o1", b"v", 60, "order:o1:gen", b"0") is True
    assert await cache.get("order:o1") == b"v"
    await redis_client.script_flush()
    assert (await limiter.hit("k", 3, 60)).remaining == 2
    await redis_client.script_flush()
    assert [r.remaining for r in await limiter.hit_all([("k", 3, 60), ("j", 3, 60)])] == [1, 2]


async def test_without_the_lean_path_the_same_batches_go_through_a_redis_py_pipeline(redis_client, prefix):
    """What a client without it (another redis-py, a cluster client) gets: the same commands, in one
    pipeline, with redis-py's reply callbacks (SET answers True there, b"OK" on the lean path)."""
    from adapters.redis.lean import Lean

    batch = Lean(redis_client)
    batch.lean = False
    k = prefix + "k"
    replies = await batch.call([("SET", k, b"v", "PX", 60_000), ("GET", k), ("INCRBY", prefix + "n", 2)])
    assert replies == [True, b"v", 2]
    with pytest.raises(ResponseError):
        await batch.call([("INCRBY", k, 1)])
    replies = await batch.call([("INCRBY", k, 1), ("GET", k)], raise_on_error=False)
    assert isinstance(replies[0], ResponseError) and replies[1] == b"v"


async def test_a_redis_that_never_answers_fails_a_batch_as_fast_as_redis_py_fails_a_command(client_factory):
    """Connecting (its handshake unanswered here) retries on its own: a batch connects outside its
    own retry, as redis-py's pool does, so an outage costs the callers' fallback no extra wait."""
    from redis.exceptions import RedisError

    async def silent(reader, writer):
        await reader.read(-1)  # accepts, reads, never answers
    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = await client_factory(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3, connect_timeout=0.3,
                                      retries=1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises((RedisError, OSError)):
            await client.get("k")
        plain = loop.time() - started
        started = loop.time()
        with pytest.raises((RedisError, OSError)):
            await lean(client).call([("GET", "k")])
        batched = loop.time() - started
        assert batched < plain + 0.25, (batched, plain)
    finally:
        server.close()
