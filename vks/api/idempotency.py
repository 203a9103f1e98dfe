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
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.storage.engine import watch_commits
from adapters.storage.idempotency import IdempotencyRecord
from booking.errors import DomainError
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
            found = uow.idempotency.claim(record, stale_before=stale_before)
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


def request_hash(method: str, path: str, body: bytes) -> str:
    """The request's fingerprint; JSON bodies are compared by content, not by layout."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        ).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", canonical):
        digest.update(part)
    return digest.hexdigest()


def _valid_key(key: str) -> bool:
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
        if not _valid_key(key):
            await _problem(
                send, 422, "invalid_idempotency_key", "The Idempotency-Key is not valid",
                f"an Idempotency-Key is 1–{MAX_KEY_LENGTH} visible ASCII characters", instance,
            )  # fmt: skip
            return
        principal = _subject(container, headers.get("authorization", ""))
        if principal is None:  # no valid token: the route itself answers 401
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        query = scope.get("query_string", b"").decode("latin-1")
        path = f"{scope['path']}?{query}" if query else scope["path"]
        fingerprint = request_hash("POST", path, body)
        now = container.clock.now()
        ttl = timedelta(hours=container.settings.idempotency_ttl_hours)
        record = IdempotencyRecord(
            principal=principal, key=key, method="POST", path=path, request_hash=fingerprint,
            created_at=now, expires_at=now + ttl,
        )  # fmt: skip
        lease = timedelta(seconds=container.settings.idempotency_lease_seconds)
        held = await run_in_threadpool(lambda: store.claim(record, stale_before=now - lease))
        if held is not None:
            wait = held.created_at + lease - now
            await _answer_repeat(held, record, send, instance, retry_after=_seconds(wait))
            return
        claim = _Lease(store, record, container.clock, lease)
        renewal = asyncio.create_task(claim.keep_renewed())
        try:
            await self._serve_first(scope, receive, send, claim, body)
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal

    async def _serve_first(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        claim: _Lease,
        body: bytes,
    ) -> None:
        store, record = claim.store, claim.record
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        kept: dict[str, str] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    lowered = name.decode("latin-1").lower()
                    if lowered in KEPT_HEADERS:
                        kept[lowered] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        def keep(status: int, text: str, headers: dict[str, str]) -> None:
            store.complete(
                record.principal, record.key, status=status, body=text, headers=headers,
                claimed_at=record.created_at,
            )  # fmt: skip

        def forget() -> None:
            store.forget(record.principal, record.key, claimed_at=record.created_at)

        with watch_commits() as commits:
            try:
                await self.app(scope, replay_body, capture)
            except BaseException:
                await claim.end()
                if commits.committed:  # the work is saved: a retry must not run it again
                    log.error("%s failed after it committed; its key keeps the 500", record.path)
                    failed = _failed_after_commit(scope["path"])
                    await run_in_threadpool(keep, 500, failed, {"content-type": MEDIA_TYPE})
                else:
                    await run_in_threadpool(forget)
                raise
        await claim.end()
        if status in STORED_STATUSES or (status >= 500 and commits.committed):
            text = b"".join(chunks).decode("utf-8", errors="replace")
            await run_in_threadpool(keep, status, text, kept)
        else:
            await run_in_threadpool(forget)


class _Lease:
    """A running request's claim, renewed every third of its lease (`record.created_at`
    follows, so the request completes its own claim) until the request ends or the claim
    was taken over."""

    def __init__(
        self, store: IdempotencyStore, record: IdempotencyRecord, clock: Any, length: timedelta
    ) -> None:
        self.store = store
        self.record = record
        self.clock = clock
        self.every = max(length.total_seconds() / 3, 0.05)
        self._lock = asyncio.Lock()
        self._ended = False

    async def keep_renewed(self) -> None:
        while True:
            await asyncio.sleep(self.every)
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


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)


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
