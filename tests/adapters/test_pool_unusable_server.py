"""A conference server whose secret reference cannot be resolved (`env:VKS_BBB2_SECRET` with
the variable unset) does not stop the pool: it is in it as unusable, with the reason, never
polled nor chosen, and rooms go to the other servers (issue 20)."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from adapters.conference.room_registry import InMemoryRoomRegistry
from booking.errors import NoServerAvailable
from tests.adapters.conference_sims import Sims, client, lesson, sim_host, sims
from vks.automation.hardware import build_pool

__all__ = ["client", "sim_host", "sims"]

UNSET = "VKS_TEST_BBB2_SECRET_NEVER_SET"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET, raising=False)


async def test_rooms_go_to_the_other_server_when_one_secret_is_not_set(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    working_device, working = sims.bbb(max_participants=200)
    idle_device, roomy = sims.bbb(max_participants=2000)  # more headroom: would win
    misconfigured = dataclasses.replace(roomy, secret_ref=f"env:{UNSET}")

    pool = build_pool([working, misconfigured], InMemoryRoomRegistry(), lambda _s: client)
    room = await pool.open_room(lesson())

    assert room.server_id == working.id
    assert list(working_device.meetings.by_id) == [room.room_id]
    assert not idle_device.meetings.by_id
    assert pool.unusable == {misconfigured.id: f"secret {UNSET} not set"}


async def test_with_only_the_misconfigured_server_placement_says_why(
    sims: Sims, client: httpx.AsyncClient
) -> None:
    _, server = sims.bbb()
    misconfigured = dataclasses.replace(server, secret_ref=f"env:{UNSET}")
    pool = build_pool([misconfigured], InMemoryRoomRegistry(), lambda _s: client)

    problem = await pool.capacity_problem(lesson())
    with pytest.raises(NoServerAvailable) as refused:
        await pool.open_room(lesson())

    assert f"{server.id}: unusable (secret {UNSET} not set)" in problem
    assert f"secret {UNSET} not set" in refused.value.message
