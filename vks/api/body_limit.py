"""Bounded request bodies: at most `max_body_bytes` (`VKS_MAX_BODY_BYTES`) and, for JSON,
at most `max_json_depth` levels of nesting — checked before any handler parses them.

A body that announces a larger `Content-Length` is refused before it is read; one that
streams without a length is read up to the limit and refused there. Too deep a JSON body
(20,000 nested arrays made the parser recurse until it failed) is refused with the reason.
Both are problems (`413 body_too_large`, `422 body_too_deep`), never a traceback.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vks.api.problems import problem_response
from vks.settings import Settings

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests arrays and objects (strings are skipped)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b"", body)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


def _announced_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Reads each request body whole (within the limit), checks it, and hands it on."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_bytes = settings.max_body_bytes
        self.max_json_depth = settings.max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = _announced_length(scope)
        if announced is not None and announced > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        body, last = await read_body(receive, self.max_bytes)
        if last is not None:
            if last["type"] != "http.request":  # the client went away
                await self.app(scope, replay(b"", last, receive), send)
            else:
                await self._too_large(scope, receive, send)
            return
        if body and _is_json(scope):
            depth = json_depth(body)
            if depth > self.max_json_depth:
                response = problem_response(
                    422,
                    "body_too_deep",
                    "The request body nests too deeply",
                    f"the JSON body nests {depth} levels deep; at most {self.max_json_depth}"
                    " are allowed",
                    scope.get("path", ""),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, replay(body, None, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "body_too_large",
            "The request body is too large",
            f"the request body is larger than the allowed {self.max_bytes} bytes",
            scope.get("path", ""),
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


async def read_body(receive: Receive, limit: int) -> tuple[bytes, Message | None]:
    """The whole body, or what was read and the message that ended it early (a
    disconnect, or a chunk beyond `limit`)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"".join(parts), message
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts), None


def replay(body: bytes, last: Message | None, receive: Receive) -> Receive:
    """A `receive` that gives the body read already (`last`: the message that stopped the
    reading — the client went away, or sent more than it announced), then what the client
    sends next (also the hot routes', `vks/api/hot.py`)."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": last is not None}]
    if last is not None:
        pending.append(last)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
