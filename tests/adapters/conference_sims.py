"""Shared arrangement for the conference and terminal adapter tests: a `SimHost` on loopback
(port 0 everywhere) with BBB, Jitsi and terminal simulators, the `ConferenceServer` records
the adapters are built from, and fault control through the simulators' control API."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from adapters.conference import transport
from adapters.conference.platform import RoomSpec
from booking.resources import ConferenceServer, PlatformKind
from simulators.bbb import BbbServer
from simulators.hosting import SimHost
from simulators.jitsi import JitsiServer
from simulators.terminal import Terminal as SimTerminal

BBB_SECRET = "bbb-shared-secret-kuzbass-rcc-0123456789abcdef"
JITSI_SECRET = "jitsi-app-secret-kuzbass-rcc-0123456789abcdef"
JITSI_APP_ID = "vks-kuzbass"
TERMINAL_USER, TERMINAL_PASSWORD = "admin", "Sch00l-20-codec"
T = TypeVar("T")


@pytest.fixture(scope="module")
def sim_host() -> Iterator[SimHost]:
    """One host per test module; every test adds devices of its own (fresh ids, port 0)."""
    with SimHost(control_port=0) as host:
        yield host


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The adapters' HTTP client, short timeouts so the slow-server tests stay quick."""
    async with transport.new_client(timeout_s=1.0, verify_tls=False) as shared:  # loopback
        yield shared


@dataclass
class Sims:
    host: SimHost
    control: httpx.AsyncClient

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:6]}"

    def bbb(
        self,
        *,
        max_rooms: int = 40,
        max_participants: int = 400,
        gateway_ports: int = 60,
        **options: Any,
    ) -> tuple[BbbServer, ConferenceServer]:
        device = BbbServer(
            self._id("bbb"), BBB_SECRET, gateway_ports=gateway_ports, name="BBB РКЦ", **options
        )
        port = self.host.add(device)
        server = ConferenceServer(
            id=device.id,
            kind=PlatformKind.BBB,
            name="BBB РКЦ Кузбасса",
            base_url=f"http://127.0.0.1:{port}/bigbluebutton/",
            secret_ref="inline:" + BBB_SECRET,
            max_rooms=max_rooms,
            max_participants=max_participants,
            gateway_sip_host=f"127.0.0.1:{port}",
            gateway_ports=gateway_ports,
        )
        return device, server

    def jitsi(
        self,
        *,
        max_rooms: int = 40,
        max_participants: int = 400,
        gateway_ports: int = 60,
        **options: Any,
    ) -> tuple[JitsiServer, ConferenceServer]:
        options.setdefault("auto_owner", False)
        device = JitsiServer(
            self._id("jitsi"),
            JITSI_SECRET,
            app_id=JITSI_APP_ID,
            gateway_ports=gateway_ports,
            **options,
        )
        port = self.host.add(device)
        server = ConferenceServer(
            id=device.id,
            kind=PlatformKind.JITSI,
            name="Jitsi РКЦ Кузбасса",
            base_url=f"http://127.0.0.1:{port}",
            secret_ref="inline:" + JITSI_SECRET,
            max_rooms=max_rooms,
            max_participants=max_participants,
            gateway_sip_host=f"127.0.0.1:{port}",
            gateway_ports=gateway_ports,
        )
        return device, server

    def terminal(self, vendor: str = "cisco_xapi", **options: Any) -> tuple[SimTerminal, str]:
        options.setdefault("answer_delay_s", 0.05)
        options.setdefault("name", "МБОУ «СОШ №20» — Актовый зал")
        device = SimTerminal(
            self._id("term-kem-20"), TERMINAL_USER, TERMINAL_PASSWORD, vendor=vendor, **options
        )
        port = self.host.add(device)
        return device, f"http://127.0.0.1:{port}"

    async def faults(self, device_id: str, **changes: Any) -> None:
        """Change a device's faults through the control API (offline takes effect at once)."""
        response = await self.control.put(
            f"http://127.0.0.1:{self.host.control_port}/_sim/devices/{device_id}/faults",
            json=changes,
        )
        assert response.status_code == 200, response.text

    async def heal(self, device_id: str) -> None:
        response = await self.control.delete(
            f"http://127.0.0.1:{self.host.control_port}/_sim/devices/{device_id}/faults"
        )
        assert response.status_code == 200, response.text


@pytest.fixture
async def sims(sim_host: SimHost) -> AsyncIterator[Sims]:
    async with httpx.AsyncClient(timeout=5.0, trust_env=False, verify=False) as control:
        yield Sims(sim_host, control)


def lesson(
    occurrence_id: str | None = None,
    *,
    expected: int = 25,
    terminals: int = 1,
    starts_in: timedelta = timedelta(minutes=15),
    title: str = "Физика, 9 «А» — сетевой урок",
) -> RoomSpec:
    """A 40-minute lesson with a 15-minute set-up buffer, starting soon."""
    start = datetime.now(UTC).replace(microsecond=0) + starts_in
    return RoomSpec(
        occurrence_id=occurrence_id or f"occ-{uuid.uuid4().hex[:8]}",
        booking_id="bk-phys-9a-2026",
        title=title,
        starts_at=start,
        ends_at=start + timedelta(minutes=40),
        setup_starts_at=start - timedelta(minutes=15),
        school_ids=("kem-school-20", "kem-school-41"),
        expected_participants=expected,
        terminals=terminals,
        teacher_name="Иванова Мария Петровна",
    )


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    timeout_s: float = 3.0,
    interval_s: float = 0.05,
) -> T:
    """Poll `probe` until `until(value)`; fail with the last value."""
    deadline = time.monotonic() + timeout_s
    value = await probe()
    while not until(value) and time.monotonic() < deadline:
        await asyncio.sleep(interval_s)
        value = await probe()
    assert until(value), f"not reached within {timeout_s}s; last value {value!r}"
    return value


__all__ = [
    "BBB_SECRET",
    "JITSI_APP_ID",
    "JITSI_SECRET",
    "TERMINAL_PASSWORD",
    "TERMINAL_USER",
    "Sims",
    "client",
    "eventually",
    "lesson",
    "sim_host",
    "sims",
]
