"""The hot paths' Redis calls, with a fraction of redis-py's client work.

redis-py's asyncio client spends most of a call in its own machinery, not in the round trip: the
pool's lock and observability hooks on every checkout, a task (``asyncio.wait_for``) around every
write, and a timeout context around every reply read, so a pipeline of 15 commands pays for 15 of
them. Measured here (uvloop, client CPU a call, hiredis): a GET 105 µs through redis-py and 65 µs
here; the invalidation's pipeline of 15 commands 290 µs and 110 µs.

``Lean`` sends a batch of commands in one write and reads their replies under one timeout, on
connections of its own made by the client's pool (``make_connection``: the same address, auth,
TLS, timeouts, parser and health-check interval). What is kept of redis-py's behaviour:

- the client's retry policy: a connection or timeout error disconnects the connection and the
  whole batch is sent again on a fresh one (as redis-py's pipeline does, so only batches whose
  commands may run twice are sent here: counters, deletes, publishes, idempotent writes, reads);
  an idle connection is connected first, with the connect's own retry and outside the batch's, as
  redis-py's pool does, so a Redis that is down fails a batch no slower than a command;
- the health check (a PING once the connection has been idle past its interval);
- a connection whose batch failed half way is disconnected, never reused with replies unread;
- replies are the parser's (bytes, ints, lists), with no response callbacks: a command's error
  reply is raised (``call``) or returned in its place (``call(..., raise_on_error=False)``).

It uses two attributes of redis-py's asyncio ``Connection`` that are not public (``_writer``,
``_parser``, present from redis-py 4.2 to 8): where they are missing, and for a client with no
single connection pool (a cluster client, whose pipelines split a batch by node), every call goes
through a redis-py pipeline instead (``tests/redis/test_redis_lean.py`` fails if that happens with
the pinned version and a plain client).
"""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

try:  # hiredis packs a command in C, ~5x faster than redis-py's Python packer, to the same bytes
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # pragma: no cover - hiredis is a dependency; redis-py's packer then
    _hiredis_pack = None

Command = tuple[Any, ...]


def _packed(conn, commands: Sequence[Command]) -> list[bytes]:
    """``commands`` in the protocol, the same bytes as ``conn.pack_commands`` (tested). hiredis
    encodes text as UTF-8 and numbers as ``repr`` does, which is redis-py's default encoder. A
    connection with another encoding, a command name with a space in it ("CONFIG GET", which
    redis-py splits) and an argument hiredis does not take (a bytearray; a bool or None, which
    redis-py refuses with its own error) go to redis-py's packer."""
    encoder = conn.encoder
    if _hiredis_pack is None or encoder.encoding.lower() not in ("utf-8", "utf8") or encoder.encoding_errors != "strict":
        return conn.pack_commands(commands)
    chunks = []
    for command in commands:
        name = command[0]
        if not isinstance(name, (str, bytes)) or (" " if isinstance(name, str) else b" ") in name:
            return conn.pack_commands(commands)
        try:
            chunks.append(_hiredis_pack(tuple(command)))
        except TypeError:
            return conn.pack_commands(commands)
    return [b"".join(chunks)]


class Lean:
    """Batches of commands for ``redis``, on connections of their own (see the module)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.pool = getattr(redis, "connection_pool", None)  # a cluster client has none: its pipelines split by node
        self._closed = False
        probe = self.pool.make_connection() if hasattr(self.pool, "make_connection") else None
        self.lean = all(hasattr(probe, name) for name in ("_writer", "_parser", "retry", "check_health"))
        self._idle: list = [probe] if self.lean else []

    async def call(self, commands: Sequence[Command], raise_on_error: bool = True) -> list:
        """The replies of ``commands``, sent in one write (one round trip)."""
        if not self.lean:
            return await self._pipeline(commands, raise_on_error)
        conn = self._idle.pop() if self._idle else self.pool.make_connection()
        try:
            if not conn.is_connected:  # with its own retry, outside the batch's: as redis-py's pool connects
                await conn.connect()
            replies = await conn.retry.call_with_retry(lambda: self._send(conn, commands),
                                                       lambda _error: conn.disconnect(nowait=True))
        except BaseException:
            await conn.disconnect(nowait=True)
            raise
        if self._closed:
            await conn.disconnect(nowait=True)
        else:
            self._idle.append(conn)
        if raise_on_error:
            for reply in replies:
                if isinstance(reply, ResponseError):
                    raise reply
        return replies

    async def _send(self, conn, commands: Sequence[Command]) -> list:
        if not conn.is_connected:  # the batch sent again after a failed attempt disconnected it
            await conn.connect()
        await conn.check_health()
        packed = _packed(conn, commands)
        try:
            async with asyncio.timeout(conn.socket_timeout):
                conn._writer.writelines(packed)
                await conn._writer.drain()
                parser = conn._parser
                replies = [await parser.read_response() for _ in commands]
        except asyncio.TimeoutError:
            await conn.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout reading from Redis") from None
        except OSError as exc:
            await conn.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while talking to Redis: {exc.args}") from exc
        except BaseException:
            await conn.disconnect(nowait=True)
            raise
        if conn.health_check_interval:
            conn.next_health_check = asyncio.get_running_loop().time() + conn.health_check_interval
        return replies

    async def _pipeline(self, commands: Sequence[Command], raise_on_error: bool) -> list:
        async with self.redis.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return await pipe.execute(raise_on_error=raise_on_error)

    async def close(self) -> None:
        """Disconnect every idle connection (and those in use as they come back)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.disconnect(nowait=True)


def lean(redis: Redis) -> Lean:
    """The one ``Lean`` of ``redis`` (made on first use, closed with the client by ``create_redis``)."""
    found = getattr(redis, "_payport_lean", None)
    if found is None:
        found = redis._payport_lean = Lean(redis)
    return found


async def close(redis: Redis) -> None:
    found = getattr(redis, "_payport_lean", None)
    if found is not None:
        await found.close()
