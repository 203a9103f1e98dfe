"""Idempotency keys on every POST (`Idempotency-Key` header), for clients that retry —
above all the external timetable scheduler.

The first request with a key runs; its answer is stored (2xx, and 422: the request
itself is wrong and always will be) and any repeat with the same key and the same
request gets that stored answer again, marked `Idempotent-Replayed: true`, without doing
the work twice. A repeat while the first is still running gets 409 (retry shortly); the
same key with another request (method, path, query or body) gets 422. Answers that
depend on the moment (409 conflicts, 401/403, 5xx) are not stored: a retry runs afresh —
except a failure after the request committed something: running it again would do the
work twice (or answer a misleading 409), so that answer is stored and replayed too.

A claim is a lease of `idempotency_lease_seconds`, renewed while the request runs; the
repeat's 409 says in `Retry-After` when the lease runs out. A claim whose lease ran out
(its process died mid-request) is taken over by the next request with the key.

Keys belong to the caller (the token's subject) and live `idempotency_ttl_hours`.
Requests without a valid token are passed through untouched (the route answers 401).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.storage.engine import watch_commits
from adapters.storage.idempotency import IdempotencyRecord
from booking.errors import DomainError
from vks.api.body_limit import read_body, replay
from vks.api.problems import MEDIA_TYPE, problem_body

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
STORED_STATUSES = frozenset({200, 201, 202, 204, 422})
KEPT_HEADERS = ("content-type", "etag", "location")
MAX_KEY_LENGTH = 255

log = logging.getLogger(__name__)


class IdempotencyStore(Protocol):
    def claim(
        self, record: IdempotencyRecord, *, stale_before: datetime | None = None
    ) -> IdempotencyRecord | None:
        """None if the key was free (now in flight) or held by an unanswered claim taken
        at or before `stale_before`, else the live record holding it."""
        ...

    def complete(
        self,
        principal: str,
        key: str,
        *,
        status: int,
        body: str,
        headers: dict[str, str],
        claimed_at: datetime | None = None,
    ) -> None: ...

    def forget(self, principal: str, key: str, *, claimed_at: datetime | None = None) -> None: ...

    def renew(self, principal: str, key: str, *, claimed_at: datetime, now: datetime) -> bool:
        """Extend a running request's lease; False if the claim is no longer its own."""
        ...

    def purge_expired(self, now: datetime) -> int:
        """Delete the keys whose time is up; how many went."""
        ...


class _UnitOfWorkWithKeys(AbstractContextManager[Any], Protocol):
    idempotency: IdempotencyStore  # the repository answers the same calls

    def commit(self) -> None: ...


class UnitOfWorkKeys:
    """The store over a unit of work that has an `idempotency` repository (the SQL one);
    each call is its own short transaction."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory

    def _uow(self) -> _UnitOfWorkWithKeys:
        uow: _UnitOfWorkWithKeys = self._factory()
        return uow

    def claim(
        self, record: IdempotencyRecord, *, stale_before: datetime | None = None
    ) -> IdempotencyRecord | None:
        with self._uow() as uow:
            # committed with its upsert in one round trip (a claim is its own transaction)
            found = uow.idempotency.claim(record, stale_before=stale_before, at_once=True)
            uow.commit()
            return found

    def complete(
        self,
        principal: str,
        key: str,
        *,
        status: int,
        body: str,
        headers: dict[str, str],
        claimed_at: datetime | None = None,
    ) -> None:
        with self._uow() as uow:
            uow.idempotency.complete(
                principal, key, status=status, body=body, headers=headers, claimed_at=claimed_at
            )
            uow.commit()

    def forget(self, principal: str, key: str, *, claimed_at: datetime | None = None) -> None:
        with self._uow() as uow:
            uow.idempotency.forget(principal, key, claimed_at=claimed_at)
            uow.commit()

    def renew(self, principal: str, key: str, *, claimed_at: datetime, now: datetime) -> bool:
        with self._uow() as uow:
            renewed = uow.idempotency.renew(principal, key, claimed_at=claimed_at, now=now)
            uow.commit()
            return renewed

    def purge_expired(self, now: datetime) -> int:
        with self._uow() as uow:
            purged = uow.idempotency.purge_expired(now)
            uow.commit()
            return purged


_UNPARSED = object()


def request_hash(method: str, path: str, body: bytes, parsed: Any = _UNPARSED) -> str:
    """The request's fingerprint; JSON bodies are compared by content, not by layout
    (`parsed`: the body's JSON, when the caller has decoded it already)."""
    try:
        content = json.loads(body) if parsed is _UNPARSED else parsed
        canonical = json.dumps(
            content, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        ).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", canonical):
        digest.update(part)
    return digest.hexdigest()


def valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(33 <= ord(ch) <= 126 for ch in key)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get(HEADER)
        container = getattr(scope["app"].state, "container", None)
        store: IdempotencyStore | None = getattr(container, "idempotency", None)
        if key is None or container is None or store is None:
            await self.app(scope, receive, send)
            return
        instance = scope["path"]
        if not valid_key(key):
            await refuse_key(send, instance)
            return
        principal = _subject(container, headers.get("authorization", ""))
        if principal is None:  # no valid token: the route itself answers 401
            await self.app(scope, receive, send)
            return
        body, _ = await read_body(receive, sys.maxsize)  # (its size checked outside already)
        claim = new_claim(container, store, principal, key, scope, body)
        record, lease = claim.record, claim.length
        held = await run_in_threadpool(
            lambda: store.claim(record, stale_before=record.created_at - lease)
        )
        if held is not None:
            await answer_repeat(claim, held, send, instance)
            return
        async with claim.renewed():
            with watch_commits() as commits:
                answered = Answered(send)
                try:
                    await self.app(scope, replay(body, None, receive), answered.send)
                except BaseException:
                    await claim.failed(commits.committed, scope["path"])
                    raise
            await claim.answered(answered, commits.committed)


class Answered:
    """A `send` that passes the answer on and keeps what a key stores of it."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500
        self.kept: dict[str, str] = {}
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            for name, value in message.get("headers", []):
                lowered = name.decode("latin-1").lower()
                if lowered in KEPT_HEADERS:
                    self.kept[lowered] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
        await self._send(message)


def new_claim(
    container: Any,
    store: IdempotencyStore,
    principal: str,
    key: str,
    scope: Scope,
    body: bytes,
    parsed: Any = _UNPARSED,
) -> Lease:
    """The claim a POST with `key` would take (not taken yet; `parsed`: the body's JSON)."""
    query = scope.get("query_string", b"").decode("latin-1")
    path = f"{scope['path']}?{query}" if query else scope["path"]
    now = container.clock.now()
    ttl = timedelta(hours=container.settings.idempotency_ttl_hours)
    record = IdempotencyRecord(
        principal=principal, key=key, method="POST", path=path,
        request_hash=request_hash("POST", path, body, parsed), created_at=now, expires_at=now + ttl,
    )  # fmt: skip
    lease = timedelta(seconds=container.settings.idempotency_lease_seconds)
    return Lease(store, record, container.clock, lease)


async def answer_repeat(claim: Lease, held: IdempotencyRecord, send: Send, instance: str) -> None:
    """The answer to a request whose key `held` already: replayed, 409 or 422."""
    wait = held.created_at + claim.length - claim.record.created_at
    await _answer_repeat(held, claim.record, send, instance, retry_after=_seconds(wait))


async def refuse_key(send: Send, instance: str) -> None:
    await _problem(
        send, 422, "invalid_idempotency_key", "The Idempotency-Key is not valid",
        f"an Idempotency-Key is 1–{MAX_KEY_LENGTH} visible ASCII characters", instance,
    )  # fmt: skip


class Lease:
    """A running request's claim, renewed every third of its lease (`record.created_at`
    follows, so the request completes its own claim) until the request ends or the claim
    was taken over."""

    def __init__(
        self, store: IdempotencyStore, record: IdempotencyRecord, clock: Any, length: timedelta
    ) -> None:
        self.store = store
        self.record = record
        self.clock = clock
        self.length = length
        self.every = max(length.total_seconds() / 3, 0.05)
        self._lock = asyncio.Lock()
        self._ended = False

    async def keep_renewed(self, *, waited: bool = False) -> None:
        """Renew every third of the lease (`waited`: the first third is over already)."""
        while True:
            if not waited:
                await asyncio.sleep(self.every)
            waited = False
            async with self._lock:
                if self._ended:
                    return
                now = self.clock.now()
                try:
                    renewed = await run_in_threadpool(self._renew, now)
                except Exception:
                    log.exception("renewing the lease of an idempotency key failed")
                    continue
                if not renewed:
                    return
                self.record.created_at = now

    def _renew(self, now: datetime) -> bool:
        r = self.record
        return self.store.renew(r.principal, r.key, claimed_at=r.created_at, now=now)

    async def end(self) -> None:
        """No renewal after this (one under way is waited for)."""
        async with self._lock:
            self._ended = True

    @contextlib.asynccontextmanager
    async def renewed(self) -> AsyncIterator[None]:
        """The lease kept renewed while the request runs. Most requests end long before
        their first renewal: the renewing task is started by a timer only when one is due
        (a task per request cost ~5 % of a create's CPU in the event loop)."""
        loop = asyncio.get_running_loop()
        renewals: list[asyncio.Task[None]] = []
        timer = loop.call_later(
            self.every, lambda: renewals.append(loop.create_task(self.keep_renewed(waited=True)))
        )
        try:
            yield
        finally:
            timer.cancel()
            for renewal in renewals:
                renewal.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewal

    def keep(self, status: int, text: str, headers: dict[str, str]) -> None:
        r = self.record
        self.store.complete(
            r.principal, r.key, status=status, body=text, headers=headers, claimed_at=r.created_at
        )

    def forget(self) -> None:
        self.store.forget(self.record.principal, self.record.key, claimed_at=self.record.created_at)

    async def answered(self, answered: Answered, committed: bool) -> None:
        """The request was answered: its answer stored (2xx, 422, or a 5xx after a commit),
        or its key forgotten so that a retry runs afresh."""
        await self.end()
        status = answered.status
        if status in STORED_STATUSES or (status >= 500 and committed):
            text = b"".join(answered.chunks).decode("utf-8", errors="replace")
            await run_in_threadpool(self.keep, status, text, answered.kept)
        else:
            await run_in_threadpool(self.forget)

    async def failed(self, committed: bool, instance: str) -> None:
        """The request failed without an answer: if it committed, its key keeps a 500 (a
        retry must not run it again); if not, the key is forgotten."""
        await self.end()
        if committed:
            log.error("%s failed after it committed; its key keeps the 500", self.record.path)
            failed = _failed_after_commit(instance)
            await run_in_threadpool(self.keep, 500, failed, {"content-type": MEDIA_TYPE})
        else:
            await run_in_threadpool(self.forget)


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


def _failed_after_commit(instance: str) -> str:
    return json.dumps(
        problem_body(
            status=500,
            code="internal_error",
            title="Internal error",
            detail="the request was carried out but its answer failed; it has been logged."
            " Do not repeat it: look the result up",
            instance=instance,
        ),
        ensure_ascii=False,
    )


def _subject(container: Any, authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        claims = container.tokens.verify(token.strip(), now=container.clock.now())
    except DomainError:
        return None
    return str(claims.principal.user_id)


async def _answer_repeat(
    held: IdempotencyRecord,
    asked: IdempotencyRecord,
    send: Send,
    instance: str,
    *,
    retry_after: int,
) -> None:
    if not held.matches(asked.method, asked.path, asked.request_hash):
        await _problem(
            send,
            422,
            "idempotency_key_reused",
            "The Idempotency-Key was used for another request",
            "this Idempotency-Key was first used with a different request; use a new key",
            instance,
        )
        return
    if held.in_flight or held.status is None:
        await _problem(
            send,
            409,
            "idempotency_request_in_progress",
            "The first request with this key is still running",
            "a request with this Idempotency-Key is still being served; retry after"
            f" {retry_after} s (then its answer is replayed, or the request runs afresh"
            " if the first one was lost)",
            instance,
            retry_after=retry_after,
        )
        return
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in held.response_headers.items()]
    headers.append((REPLAYED.encode(), b"true"))
    payload = (held.response_body or "").encode()
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": held.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _problem(
    send: Send,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    retry_after: int | None = None,
) -> None:
    payload = json.dumps(
        problem_body(status=status, code=code, title=title, detail=detail, instance=instance),
        ensure_ascii=False,
    ).encode()
    headers = [
        (b"content-type", MEDIA_TYPE.encode()),
        (b"content-length", str(len(payload)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
