"""The SIP video gateway in front of a conference server.

SIP into BBB (FreeSWITCH) and Jitsi (Jigasi) carries audio only, so a hardware terminal
dials a video gateway (Jibri's SIP gateway, SIPMediaGW…) at `sip:<dial key>@<gateway>`; the
gateway answers and joins the room as a participant with audio and video. The dial key is
the BBB voiceBridge or the Jitsi room name.

Each server has its own gateway (`ConferenceServer.gateway_sip_host`, `gateway_ports`
concurrent calls). The gateway's status endpoint, `GET <status_url>/gateway/calls` →
`{"ports": N, "in_use": k, "calls": [{"call_id", "room", "from"}]}` (the contract our
simulators implement; see `simulators/gateway.py`), tells which terminals are connected to
which room and how many ports are taken. A real gateway needs a status adapter of this shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from adapters.conference.sip import normalise
from adapters.conference.transport import RetryPolicy, request
from booking.errors import DeviceProtocolError, InvalidInput

CALLS_PATH = "/gateway/calls"


@dataclass(frozen=True)
class GatewayCall:
    call_id: str
    room: str  # the gateway's name for the room (lower case)
    caller: str  # normalised SIP address of the terminal


@dataclass(frozen=True)
class GatewayStatus:
    ports: int
    in_use: int
    calls: tuple[GatewayCall, ...]

    def callers_in(self, *room_keys: str) -> frozenset[str]:
        keys = {k.lower() for k in room_keys if k}
        return frozenset(c.caller for c in self.calls if c.room in keys)


class SipVideoGateway:
    def __init__(
        self,
        sip_host: str,
        ports: int,
        client: httpx.AsyncClient,
        *,
        status_url: str | None = None,
        name: str = "",
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.sip_host = sip_host.strip()
        self.ports = ports
        self.client = client
        self.status_url = (status_url or f"http://{self.sip_host}").rstrip("/")
        self.name = name or f"gateway {self.sip_host}"
        self.retry = retry

    @property
    def configured(self) -> bool:
        return bool(self.sip_host) and self.ports > 0

    def address(self, dial_key: str) -> str:
        if not self.configured:
            raise InvalidInput(f"{self.name}: no SIP video gateway is configured")
        return f"sip:{dial_key}@{self.sip_host}"

    async def status(self) -> GatewayStatus:
        answer = await request(
            self.client, "GET", self.status_url + CALLS_PATH, device=self.name, retry=self.retry
        )
        response = answer.response
        try:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            data = response.json()
            calls = tuple(
                GatewayCall(
                    str(c["call_id"]), str(c.get("room", "")).lower(), normalise(str(c["from"]))
                )
                for c in data.get("calls", [])
            )
            return GatewayStatus(int(data.get("ports", self.ports)), int(data["in_use"]), calls)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DeviceProtocolError(
                f"{self.name}: unreadable gateway status ({exc})", device=self.name
            ) from exc
