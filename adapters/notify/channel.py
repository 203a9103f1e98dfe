"""The notification channel Protocol and what passes through it.

A `Notice` is one alert event (opened, worse, escalated, resolved) in words for people and
as data for machines; a channel delivers it to recipients and reports, per recipient,
whether it went out. Channels never raise for a failed delivery: the caller logs the
outcome and retries later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Recipient:
    """Someone responsible for a device: an organisation's contact (school, network,
    municipality, the RCC) or a configured duty address."""

    org_id: str
    role: str  # school | network | municipality | region | duty
    email: str = ""
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


@dataclass(frozen=True)
class Notice:
    event: str  # opened | worse | escalated | resolved; or a dotted name said as it is
    subject: str
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()  # sent by e-mail only

    @property
    def event_name(self) -> str:
        """The event's name for the receiver: an alert's `health.alert.<event>`, a
        notification's own dotted name (`notification.booking.cancelled`)."""
        return self.event if "." in self.event else f"health.alert.{self.event}"


@dataclass(frozen=True)
class Delivery:
    channel: str
    recipient: str  # an e-mail address, or the webhook URL
    ok: bool
    error: str = ""


class Channel(Protocol):
    name: str

    async def send(self, notice: Notice, recipients: Sequence[Recipient]) -> list[Delivery]:
        """Deliver the notice; one `Delivery` per address reached (or tried)."""
        ...

    async def aclose(self) -> None: ...
