"""The two hot routes served without the framework's layers: POST /api/v1/bookings and
GET /api/v1/availability/terminals (issue 19, ADR 0025).

A plain request to either — a bearer token for the API, a JSON body within the limits (or
the availability's four query parameters), nothing else in its query — is served here: the
token checked as `signed_api_claims` does, the body or the query validated by the route's
own models, the route's own work (`routes.bookings.created`,
`routes.availability.terminals_free`) and its session check in one thread hop, the answer
sent as the route builds it. An `Idempotency-Key` is honoured as `IdempotencyMiddleware`
does (its claim taken in the same hop as the work); a refusal the work raises gets the
app's own exception handler (`vks/api/problems.py`).

Everything else — no or a bad token, a body the route's model refuses, a body too large or
too deep, an invalid key, a dry run or any other query — goes on to the full stack
unchanged (the body read here replayed), so every error keeps its one answer. What the
lean path answers equals the full stack's answer byte for byte
(`tests/api/test_hot_routes.py`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.storage.engine import watch_commits
from adapters.storage.idempotency import IdempotencyRecord
from booking.errors import DomainError
from vks.api.body_limit import json_depth, read_body, replay
from vks.api.dependencies import Context
from vks.api.idempotency import (
    Answered,
    IdempotencyStore,
    Lease,
    answer_repeat,
    new_claim,
    valid_key,
)
from vks.api.routes.availability import terminals_free
from vks.api.routes.bookings import created
from vks.api.schemas.bookings import BookingIn
from vks.auth.tokens import Claims
from vks.auth.tokens import Scope as TokenScope

PREFIX = "/api/v1"
BOOKINGS = f"{PREFIX}/bookings"
FREE_TERMINALS = f"{PREFIX}/availability/terminals"


class FreeTerminalsQuery(BaseModel):
    """GET /availability/terminals' query, as the route declares it."""

    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime
    org_id: str | None = None
    setup_minutes: Annotated[int | None, Field(ge=0, le=240)] = None


class HotRoutes:
    """The outermost of the app's own middlewares: serves a plain request to a hot route,
    hands everything else to `app` as it came."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if path == BOOKINGS and method == "POST" and not scope.get("query_string"):
                await self._create(scope, receive, send)
                return
            if path == FREE_TERMINALS and method == "GET":
                await self._free_terminals(scope, receive, send)
                return
        await self.app(scope, receive, send)

    # --- POST /bookings ------------------------------------------------------------------------
    async def _create(self, scope: Scope, receive: Receive, send: Send) -> None:
        container = scope["app"].state.container
        settings = container.settings
        headers = _headers(scope)
        claims = _claims(container, headers)
        length = headers.get(b"content-length")
        plain = (
            claims is not None
            and headers.get(b"content-type", b"").lower() in JSON_TYPES
            and length is not None
            and length.isdigit()
            and int(length) <= settings.max_body_bytes
        )
        if not plain:
            await self.app(scope, receive, send)
            return
        body, last = await read_body(receive, settings.max_body_bytes)
        if last is not None:  # the client went away, or sent more than it announced
            await self.app(scope, replay(body, last, receive), send)
            return
        content, parsed = _booking(body, settings.max_json_depth)
        key = headers.get(b"idempotency-key")
        key_text = key.decode("latin-1") if key is not None else None
        store: IdempotencyStore | None = getattr(container, "idempotency", None)
        if parsed is None or (key_text is not None and store is not None and not valid_key(
            key_text
        )):  # fmt: skip
            await self.app(scope, replay(body, None, receive), send)
            return
        assert claims is not None
        ctx = Context(container, claims.principal, container.clock.now(), unchecked=claims)

        def work() -> Response:
            assert parsed is not None
            return created(parsed, ctx)

        if key_text is None or store is None:
            await self._served(scope, receive, send, work)
            return
        principal = str(claims.principal.user_id)
        claim = new_claim(container, store, principal, key_text, scope, body, content)
        await self._keyed(scope, receive, send, claim, work)

    async def _keyed(
        self, scope: Scope, receive: Receive, send: Send, claim: Lease, work: Callable[[], Response]
    ) -> None:
        """`work` under an idempotency key: claimed in the same thread hop, the answer
        stored (or the key forgotten) as `IdempotencyMiddleware` does."""
        record: IdempotencyRecord = claim.record
        stale_before = record.created_at - claim.length
        held: list[IdempotencyRecord] = []
        async with claim.renewed():
            with watch_commits() as commits:

                def claimed_work() -> Response | None:
                    found = claim.store.claim(record, stale_before=stale_before)
                    if found is not None:
                        held.append(found)
                        return None
                    commits.committed = False  # the claim's own commit saved no work
                    return work()

                answered = Answered(send)
                try:
                    response = await self._answer(scope, receive, claimed_work)
                    if response is not None:
                        await response(scope, receive, answered.send)
                except BaseException:
                    if held:
                        raise
                    await claim.failed(commits.committed, scope["path"])
                    raise
            if held:
                await answer_repeat(claim, held[0], send, scope["path"])
                return
            await claim.answered(answered, commits.committed)

    # --- GET /availability/terminals -------------------------------------------------------
    async def _free_terminals(self, scope: Scope, receive: Receive, send: Send) -> None:
        container = scope["app"].state.container
        claims = _claims(container, _headers(scope))
        query = _free_terminals_query(scope.get("query_string", b""))
        if claims is None or query is None:
            await self.app(scope, receive, send)
            return
        ctx = Context(container, claims.principal, container.clock.now(), unchecked=claims)

        def work() -> Response:
            return terminals_free(ctx, query.start, query.end, query.org_id, query.setup_minutes)

        await self._served(scope, receive, send, work)

    # --- answering -------------------------------------------------------------------------------
    async def _served(
        self, scope: Scope, receive: Receive, send: Send, work: Callable[[], Response]
    ) -> None:
        response = await self._answer(scope, receive, work)
        assert response is not None
        await response(scope, receive, send)

    async def _answer(
        self, scope: Scope, receive: Receive, work: Callable[[], Response | None]
    ) -> Response | None:
        """`work` in one thread hop; an error it raises answered by the app's own handler
        for it (as the full stack's `ExceptionMiddleware` would), or raised on (the
        server's error middleware answers 500, as for any route)."""
        try:
            return await run_in_threadpool(work)
        except Exception as exc:
            handler = _handler(scope["app"].exception_handlers, exc)
            if handler is None:
                raise
            answered: Response = await handler(Request(scope, receive), exc)
            return answered


JSON_TYPES = frozenset({b"application/json", b"application/json; charset=utf-8"})


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name; a repeated one is left out (the full stack
    then decides which counts)."""
    found: dict[bytes, bytes] = {}
    repeated = set()
    for name, value in scope["headers"]:
        lowered = name.lower()
        if lowered in found:
            repeated.add(lowered)
        found[lowered] = value
    for name in repeated:
        del found[name]
    return found


def _claims(container: Any, headers: dict[bytes, bytes]) -> Claims | None:
    """An API token's claims, checked as `signed_api_claims` does; None for anything the
    full stack should answer (no token, another scheme, a bad or a feed token)."""
    authorization = headers.get(b"authorization")
    if authorization is None or authorization[:7].lower() != b"bearer ":
        return None
    token = authorization[7:].decode("latin-1")
    if not token or token != token.strip() or " " in token:
        return None
    try:
        claims: Claims = container.tokens.verify(token, now=container.clock.now())
    except DomainError:
        return None
    return claims if claims.scope == TokenScope.API else None


def _booking(body: bytes, max_depth: int) -> tuple[Any, BookingIn | None]:
    """The body as the route reads it: its JSON, then the model (None: not valid)."""
    if not body or json_depth(body) > max_depth:
        return None, None
    try:
        content = json.loads(body)
        return content, BookingIn.model_validate(content)
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError too
        return None, None


def _free_terminals_query(query_string: bytes) -> FreeTerminalsQuery | None:
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    values = dict(pairs)
    if len(values) != len(pairs):  # a repeated parameter: the full stack decides
        return None
    try:
        return FreeTerminalsQuery.model_validate(values)
    except ValidationError:
        return None


def _handler(
    handlers: dict[Any, Callable[..., Awaitable[Response]]], exc: Exception
) -> Callable[..., Awaitable[Response]] | None:
    """The app's handler for `exc`, looked up as Starlette's `ExceptionMiddleware` does
    (by the class's MRO); `Exception`'s own is the server error middleware's."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
