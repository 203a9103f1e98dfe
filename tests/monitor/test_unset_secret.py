"""A device whose secret reference names an unset environment variable is not polled: its
check fails every time with the reason the operator needs ("secret VKS_… not set"), so the
device goes down with that cause, is alerted once like any fault, and the rest of the roster
is polled as usual (issue 20)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.probe.http import HttpProbeClient
from booking.health import CallExpectation, DeviceKind, HealthState, Limits
from booking.health_records import DeviceRecord
from vks.monitor.checks import Clients, build_check

UNSET = "VKS_TEST_TERM_KEM_20_PASSWORD_NEVER_SET"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET, raising=False)


async def test_an_unset_secret_is_a_failure_naming_the_variable() -> None:
    terminal = DeviceRecord(
        DeviceKind.TERMINAL,
        "term-kem-20-hall",
        "Актовый зал",
        "http://127.0.0.1:9",  # never asked
        "cisco_xapi",
        username="admin",
        secret_ref=f"env:{UNSET}",
        site_id="kem-school-20",
        site_name="МБОУ «СОШ №20»",
    )
    async with httpx.AsyncClient() as servers:
        clients = Clients(HttpProbeClient(timeout_s=1.0), servers)
        check = build_check(terminal, clients, Limits(), lambda _at: (CallExpectation.EITHER, None))

        observation = await check(datetime.now(UTC))

    assert observation.failure == f"secret {UNSET} not set"
    assert observation.level is HealthState.DOWN
