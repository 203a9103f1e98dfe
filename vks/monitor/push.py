"""Terminal push feedback: what a codec POSTs to us on its own, and how we trust it.

Cisco codecs registered with `HttpFeedback Register` POST an XML document when a call
changes: `<Status>…<Call item="n"><Status>Connected</Status><RemoteNumber>…` while a call
is set up or up, `<Event>…<CallDisconnect><CauseType>…` when it ends. Other senders may
POST JSON `{"in_call": true, "remote": "…"}`.

A terminal cannot hold an API token, so its feedback URL carries a per-terminal token,
`HMAC-SHA256(secret_key, "push:" + terminal_id)`: `push_url` builds the URL to register,
`valid_token` checks it. A push is news, not a verdict: the monitor records the call
state and polls the terminal at once, so the state machine still decides on what the
device answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import quote

from booking.errors import InvalidInput


@dataclass(frozen=True)
class Push:
    in_call: bool | None
    remote: str = ""
    status: str = ""  # the call's status as reported (Connected, Dialling…), or the cause
    ended: bool = False


def push_token(secret_key: str, terminal_id: str) -> str:
    mac = hmac.new(secret_key.encode(), f"push:{terminal_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def valid_token(secret_key: str, terminal_id: str, token: str) -> bool:
    """Compared as UTF-8 bytes: `compare_digest` refuses str with non-ASCII characters."""
    expected = push_token(secret_key, terminal_id).encode()
    return hmac.compare_digest(expected, token.encode("utf-8", "surrogatepass"))


PUSH_PATH = "/api/v1/monitor/push/terminals/"


def push_url(public_url: str, secret_key: str, terminal_id: str) -> str:
    """What to register as the terminal's feedback URL (the API's, or `vks monitor`'s)."""
    token = push_token(secret_key, terminal_id)
    return f"{public_url.rstrip('/')}{PUSH_PATH}{quote(terminal_id)}?token={token}"


def parse_push(body: bytes, content_type: str = "") -> Push:
    text = body.lstrip()
    if "json" in content_type or text.startswith(b"{"):
        return _json(body)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise InvalidInput(f"unreadable feedback: {exc}") from None
    disconnect = root.find(".//CallDisconnect")
    if disconnect is not None:
        cause = (disconnect.findtext("CauseType") or "").strip()
        remote = (disconnect.findtext("RemoteURI") or "").strip()
        return Push(in_call=False, remote=remote, status=cause, ended=True)
    call = root.find(".//Call")
    if call is not None:
        status = (call.findtext("Status") or "").strip()
        remote = (call.findtext("RemoteNumber") or call.findtext("CallbackNumber") or "").strip()
        return Push(
            in_call=status not in ("", "Idle", "Disconnecting"), remote=remote, status=status
        )
    return Push(in_call=None)


def _json(body: bytes) -> Push:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise InvalidInput(f"unreadable feedback: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput("feedback must be a JSON object")
    in_call = data.get("in_call")
    return Push(
        in_call=bool(in_call) if in_call is not None else None,
        remote=str(data.get("remote") or ""),
        status=str(data.get("status") or ""),
        ended=in_call is False,
    )
