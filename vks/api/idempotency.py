"""Idempotency keys on every POST (`Idempotency-Key` header), for clients that retry —
above all the external timetable scheduler.

The first request with a key runs; its answer is stored (2xx, and 422: the request
itself is wrong and always will be) and any repeat with the same key and the same
request gets that stored answer again, marked `Idempotent-Replayed: true`, without doing
the work twice. A repeat while the first is still running gets 409 (retry shortly); the
same key with another request (method, path, query or body) gets 422. Answers that
depend on the moment (409 conflicts, 401/403, 5xx) are not stored: a retry runs afresh.

Keys belong to the caller (the token's subject) and live `idempotency_ttl_hours`.
Requests without a valid token are passed through untouched (the route answers 401).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.storage.idempotency import IdempotencyRecord
from booking.errors import DomainError
from vks.api.problems import MEDIA_TYPE, problem_body

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
STORED_STATUSES = frozenset({200, 201, 202, 204, 422})
KEPT_HEADERS = ("content-type", "etag", "location")
MAX_KEY_LENGTH = 255


class IdempotencyStore(Protocol):
    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """None if the key was free (now in flight), else the live record holding it."""
        ...

    def complete(
        self, principal: str, key: str, *, status: int, body: str, headers: dict[str, str]
    ) -> None: ...

    def forget(self, principal: str, key: str) -> None: ...

    def purge_expired(self, now: datetime) -> int:
        """Delete the keys whose time is up; how many went."""
        ...


class _KeyRepository(Protocol):
    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None: ...

    def complete(
        self, principal: str, key: str, *, status: int, body: str, headers: dict[str, str]
    ) -> None: ...

    def forget(self, principal: str, key: str) -> None: ...

    def purge_expired(self, now: datetime) -> int: ...


class _UnitOfWorkWithKeys(AbstractContextManager[Any], Protocol):
    idempotency: _KeyRepository

    def commit(self) -> None: ...


class UnitOfWorkKeys:
    """The store over a unit of work that has an `idempotency` repository (the SQL one);
    each call is its own short transaction."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory

    def _uow(self) -> _UnitOfWorkWithKeys:
        uow: _UnitOfWorkWithKeys = self._factory()
        return uow

    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        with self._uow() as uow:
            found = uow.idempotency.claim(record)
            uow.commit()
            return found

    def complete(
        self, principal: str, key: str, *, status: int, body: str, headers: dict[str, str]
    ) -> None:
        with self._uow() as uow:
            uow.idempotency.complete(principal, key, status=status, body=body, headers=headers)
            uow.commit()

    def forget(self, principal: str, key: str) -> None:
        with self._uow() as uow:
            uow.idempotency.forget(principal, key)
            uow.commit()

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
        held = await run_in_threadpool(store.claim, record)
        if held is not None:
            await _answer_repeat(held, record, send, instance)
            return
        await self._serve_first(scope, receive, send, store, record, body)

    async def _serve_first(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        store: IdempotencyStore,
        record: IdempotencyRecord,
        body: bytes,
    ) -> None:
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

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await run_in_threadpool(store.forget, record.principal, record.key)
            raise
        if status in STORED_STATUSES:
            text = b"".join(chunks).decode("utf-8", errors="replace")
            await run_in_threadpool(
                lambda: store.complete(
                    record.principal, record.key, status=status, body=text, headers=kept
                )
            )
        else:
            await run_in_threadpool(store.forget, record.principal, record.key)


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
    held: IdempotencyRecord, asked: IdempotencyRecord, send: Send, instance: str
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
            "a request with this Idempotency-Key is still being served; retry shortly",
            instance,
            retry_after=1,
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
