"""E-mail over SMTP with the standard library (`smtplib`, `email`), run in a worker thread
so the event loop never blocks on a slow mail server.

One message per notice, addressed to every recipient with an address (the RCC's duty
addresses, the school's, the network's…); STARTTLS, implicit TLS and login are optional
and come from the settings.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid

from adapters.notify.channel import Delivery, Notice, Recipient

POLICY = default_policy.clone(max_line_length=998)
"""Headers are not folded: the standard library's folding of encoded words drops the space
between two Cyrillic words at a fold («МБОУ «СОШ» arrives as «МБОУ«СОШ»); an unfolded
subject stays one encoded word and arrives intact."""


class EmailChannel:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str = "vks@localhost",
        username: str = "",
        password: str = "",
        starttls: bool = False,
        use_ssl: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.timeout_s = timeout_s

    async def send(self, notice: Notice, recipients: Sequence[Recipient]) -> list[Delivery]:
        addresses = sorted({r.email for r in recipients if r.email})
        if not addresses:
            return []
        message = self.message(notice, addresses)
        try:
            refused = await asyncio.to_thread(self._send, message, addresses)
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            return [Delivery(self.name, a, False, error) for a in addresses]
        return [
            Delivery(self.name, a, a not in refused, str(refused.get(a, ""))) for a in addresses
        ]

    def message(self, notice: Notice, addresses: Sequence[str]) -> EmailMessage:
        message = EmailMessage(policy=POLICY)
        message["From"] = self.sender
        message["To"] = ", ".join(addresses)
        message["Subject"] = notice.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message["X-VKS-Event"] = notice.event_name
        message.set_content(notice.text)
        for attached in notice.attachments:
            message.add_attachment(
                attached.content,
                maintype=attached.maintype,
                subtype=attached.subtype,
                filename=attached.filename,
            )
        return message

    def _send(self, message: EmailMessage, addresses: Sequence[str]) -> dict[str, object]:
        smtp: smtplib.SMTP
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        with smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            refused = smtp.send_message(message, to_addrs=list(addresses))
        return dict(refused)

    async def aclose(self) -> None:
        return None
