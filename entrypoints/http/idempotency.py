"""``Idempotency-Key``: the first final answer to a key is stored and replayed byte-for-byte; the
same key with another request is refused (422), and one still running answers 409. A key whose
answer could not be stored, or could not be released (the store itself was unreachable), is
released again in the background, so the client's retry is not held off until the lock lapses.

A key is held for ``LOCK_SECONDS`` (after which a retry may take it over: its holder died). A
handler can run longer than that (two gateway calls with their retries), so while it runs its lock
is extended every third of that time: a client's retry never runs the same handler beside the
first. An answer that is not final (5xx, 429, or a transient failure such as a lost race,
``ConcurrencyConflict``) releases the key instead of being stored for 24 h.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from application.ports import StoredResponse
from entrypoints.http import problems

log = logging.getLogger(__name__)
#: How long a key stays held without news of its holder (extended while the handler runs).
LOCK_SECONDS = 60.0

if TYPE_CHECKING:
    from entrypoints.http.endpoint import Ctx, Route


#: what an Idempotency-Key may be (the document states it: ``openapi._operation``)
KEY = re.compile(r"[!-~]{1,255}")


async def idempotent(route: Route, ctx: Ctx, raw: bytes) -> web.StreamResponse:
    """Run ``route``'s handler at most once per (caller, route, key); ``raw`` is the request body,
    fingerprinted with the path and query."""
    key = ctx.idempotency_key
    if not key:
        return problems.problem(400, "Idempotency-Key required", "this operation needs an Idempotency-Key header",
                                "idempotency_key_required")
    if not KEY.fullmatch(key):
        return problems.problem(400, "Invalid Idempotency-Key", "1 to 255 printable ASCII characters, no spaces",
                                "idempotency_key_invalid")
    store = ctx.services.idempotency
    scope = f"{ctx.principal.id if ctx.principal else 'anon'}:{route.method}:{route.path}"
    fingerprint = hashlib.sha256(ctx.request.path_qs.encode() + b"\x00" + raw).hexdigest()
    begun = await store.begin(scope, key, fingerprint, lock_timeout=LOCK_SECONDS)
    if begun.state == "replay":
        stored = begun.response
        return web.Response(status=stored.status, body=stored.body, content_type=stored.content_type,
                            headers={"Idempotent-Replayed": "true"})
    if begun.state == "mismatch":
        return problems.problem(422, "Idempotency-Key reused", "this key was used with a different request",
                                "idempotency_key_reused")
    if begun.state == "in_flight":
        return problems.problem(409, "Request in progress", "a request with this Idempotency-Key is still running",
                                "idempotency_in_flight", {"Retry-After": "1"})
    ctx.staged = staged = Staged(store, scope, key)
    try:
        with _Heartbeat(store, scope, key):
            response = await _run(route, ctx)
    except BaseException:
        if not staged.committed:
            await _release(store, scope, key)
        raise
    if staged.committed:  # stored with the handler's change, in its transaction: the first answer is the stored one
        return staged.web_response()
    if (response.status >= 500 or response.status == 429 or not isinstance(response, web.Response)
            or response.get(problems.TRANSIENT)):
        await _release(store, scope, key)  # not a final answer: the client may retry with the same key
    else:
        try:
            await store.complete(scope, key, StoredResponse(response.status, response.content_type, response.body))
        except Exception:
            # the answer could not be stored (the store is cut): the key is freed as a crash here
            # would free it when its lock lapsed, only sooner; the retry runs the handler again,
            # which finds what this run did (a payment's reference, a refund's id come from the key)
            await _release(store, scope, key)
            raise
    return response


class Staged:
    """A handler's final answer written by its own last unit of work, in that transaction (one
    transaction fewer than storing it after the handler; and a crash between the change and its
    answer can no longer leave the key held until its lock lapses). ``recorder(status, render)`` is
    what the use case calls before that commit with what the answer renders; once it committed,
    ``idempotent`` sends exactly the stored bytes and stores nothing more. An answer staged in a
    transaction that rolls back is never stored (the key is released as for any failure)."""

    def __init__(self, store, scope: str, key: str) -> None:
        self.store, self.scope, self.key = store, scope, key
        self.response: StoredResponse | None = None
        self.committed = False

    def recorder(self, status: int, render: Callable[[Any], Any]) -> Callable[[Any, Any], None]:
        def record(uow, result) -> None:
            self.response = StoredResponse(status, "application/json", orjson.dumps(render(result)))
            self.store.complete_with(uow, self.scope, self.key, self.response)
            uow.after_commit(self._commit)
        return record

    async def _commit(self) -> None:
        self.committed = True

    def web_response(self) -> web.Response:
        assert self.response is not None
        return web.Response(status=self.response.status, body=self.response.body,
                            content_type=self.response.content_type)


#: Releases that failed and are being tried again (kept referenced until they end).
_RELEASING: set[asyncio.Task] = set()
#: When a failed release is tried again (seconds after the failure); all well within LOCK_SECONDS.
RELEASE_RETRIES = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


async def _release(store, scope: str, key: str) -> None:
    """Release the key. A store that cannot be reached now (often the very outage that made the
    answer not final: Postgres cut) is asked again in the background, so that the client's retry
    with the same key runs once the store answers, instead of meeting 409 "in progress" until the
    lock lapses ``LOCK_SECONDS`` later. The client's answer is not held up by it."""
    try:
        await store.release(scope, key)
    except Exception:  # noqa: BLE001 - the answer goes out; the key is freed later
        log.warning("could not release an Idempotency-Key; trying again in the background", exc_info=True)
        task = asyncio.get_running_loop().create_task(_release_later(store, scope, key))
        _RELEASING.add(task)
        task.add_done_callback(_RELEASING.discard)


async def _release_later(store, scope: str, key: str) -> None:
    waited = 0.0
    for at in RELEASE_RETRIES:
        await asyncio.sleep(at - waited)
        waited = at
        try:
            await store.release(scope, key)
            return
        except Exception:  # noqa: BLE001 - the lock lapses by itself after LOCK_SECONDS
            continue
    log.warning("an Idempotency-Key stays held until its lock lapses (%s s)", LOCK_SECONDS)


async def _run(route: Route, ctx: Ctx) -> web.StreamResponse:
    """The handler's answer, errors included (as problem+json), so that it can be stored."""
    try:
        return await route.handler(ctx)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problems.from_exception(exc)
    except Exception as exc:  # noqa: BLE001
        return problems.from_exception(exc)


class _Heartbeat:
    """Extends the key's lock every third of ``LOCK_SECONDS`` while the handler runs. Nothing is
    scheduled but one timer: most requests end long before it fires."""

    def __init__(self, store, scope: str, key: str) -> None:
        self.store, self.scope, self.key = store, scope, key
        self.loop = asyncio.get_running_loop()
        self.timer: asyncio.TimerHandle | None = None
        self.beating: asyncio.Task | None = None

    def __enter__(self) -> _Heartbeat:
        self._arm()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.beating is not None:
            self.beating.cancel()

    def _arm(self) -> None:
        self.timer = self.loop.call_later(LOCK_SECONDS / 3, self._beat)

    def _beat(self) -> None:
        self.beating = self.loop.create_task(self._extend())

    async def _extend(self) -> None:
        try:
            await self.store.extend(self.scope, self.key)
        except Exception:  # noqa: BLE001 - a missed beat shortens the lock; the handler goes on
            log.warning("could not extend the lock of an Idempotency-Key", exc_info=True)
        self._arm()
