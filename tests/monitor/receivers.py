"""Real receivers the alerts are delivered to: an HTTP endpoint and an SMTP server
(aiosmtpd), both on free loopback ports of the test's event loop."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.notify.channel import Delivery as Sent
from adapters.notify.channel import Notice, Recipient


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Accepts every POST with 204 and keeps it."""

    received: list[Delivery] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/vks-alerts"

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append(Delivery(scope["path"], headers, body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def __aenter__(self) -> WebhookReceiver:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", interface="asgi3")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task


class _Keeper:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mailbox.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class Mailbox:
    """An SMTP server (aiosmtpd) keeping every message with its envelope recipients."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def __aenter__(self) -> Mailbox:
        loop = asyncio.get_running_loop()
        keeper = _Keeper(self)
        self._server = await loop.create_server(
            lambda: SMTP(keeper, hostname="mail.kuzbass.example.ru"), "127.0.0.1", 0
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


class RecordingChannel:
    """A notification channel that keeps what it was asked to send (or fails, with
    `failing`, the way a channel's transport does)."""

    def __init__(self, name: str = "recording", *, failing: Exception | None = None) -> None:
        self.name = name
        self.failing = failing
        self.sent: list[tuple[Notice, list[Recipient]]] = []

    @property
    def events(self) -> list[str]:
        return [notice.event for notice, _ in self.sent]

    async def send(self, notice: Notice, recipients: Sequence[Recipient]) -> list[Sent]:
        if self.failing is not None:
            raise self.failing
        self.sent.append((notice, list(recipients)))
        return [Sent(self.name, r.email, True) for r in recipients]

    async def aclose(self) -> None:
        return None
