"""VKS room terminals behind the `Terminal` protocol; `terminal_for` picks the dialect."""

from __future__ import annotations

import httpx

from adapters.terminal.poly import PolyRestTerminal
from adapters.terminal.terminal import (
    CallEnd,
    CallInfo,
    CallState,
    CallStatus,
    Peripheral,
    Terminal,
    TerminalHealth,
    call_end_error,
)
from adapters.terminal.transport import DEFAULT_TIMEOUT_S
from adapters.terminal.xapi import CiscoXapiTerminal
from booking.errors import InvalidInput
from booking.resources import TerminalVendor


def terminal_for(
    vendor: TerminalVendor | str,
    url: str,
    username: str,
    password: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    *,
    device_id: str = "",
    client: httpx.AsyncClient | None = None,
) -> Terminal:
    """The control adapter for a terminal. Without `client`, adapters share the process's
    client for the running event loop (`transport.shared_client`)."""
    try:
        kind = TerminalVendor(vendor)
    except ValueError:
        raise InvalidInput(f"unknown terminal vendor {vendor!r}", field="vendor") from None
    name = device_id or url
    if kind is TerminalVendor.CISCO_XAPI:
        return CiscoXapiTerminal(name, url, username, password, timeout_s=timeout, client=client)
    return PolyRestTerminal(name, url, username, password, timeout_s=timeout, client=client)


__all__ = [
    "CallEnd",
    "CallInfo",
    "CallState",
    "CallStatus",
    "CiscoXapiTerminal",
    "Peripheral",
    "PolyRestTerminal",
    "Terminal",
    "TerminalHealth",
    "call_end_error",
    "terminal_for",
]
