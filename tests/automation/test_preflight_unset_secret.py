"""The pre-flight over the real device adapters: a terminal whose password reference names
an unset environment variable is a fault of that terminal like any other — its lesson is
flagged with the reason, and nothing else stops (issue 20)."""

from __future__ import annotations

import pytest

from adapters.conference.pool import ConferencePool
from adapters.conference.room_registry import InMemoryRoomRegistry
from booking.resources import Terminal, TerminalVendor
from vks.automation.hardware import HardwareDevices
from vks.automation.preflight import terminal_problem

UNSET = "VKS_TEST_TERM_KEM_20_PASSWORD_NEVER_SET"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET, raising=False)


async def test_a_terminal_whose_secret_is_not_set_is_a_problem_naming_the_variable() -> None:
    registry = InMemoryRoomRegistry()
    devices = HardwareDevices(ConferencePool([], registry), registry)  # type: ignore[arg-type]
    terminal = Terminal(
        id="term-kem-20",
        site_id="kem-school-20",
        name="Кабинет дистанционного обучения",
        vendor=TerminalVendor("cisco_xapi"),
        sip_address="sip:term-kem-20@vks.kuzbass.example.ru",
        control_url="http://127.0.0.1:9",  # never asked
        username="admin",
        credentials_ref=f"env:{UNSET}",
    )

    try:
        problem = await terminal_problem(terminal, devices, set())
    finally:
        await devices.close()

    assert problem == (
        f"device_auth_failed: term-kem-20: credentials not configured (secret {UNSET} not set)"
    )
