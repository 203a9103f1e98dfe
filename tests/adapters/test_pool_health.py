"""The pool's bookkeeping without a network: server health hysteresis and the in-memory room
registry's claim and compare-and-set move."""

from __future__ import annotations

import asyncio

from adapters.conference.room_registry import InMemoryRoomRegistry, RoomClaim
from adapters.conference.server_health import ServerHealth


def test_a_server_goes_down_only_after_n_consecutive_failures() -> None:
    health = ServerHealth(down_after=3, up_after=2)

    health.failure("device_unreachable: connection refused")
    health.failure("device_unreachable: connection refused")
    health.success()  # one good answer resets the count
    health.failure("device_unreachable")
    health.failure("device_unreachable")
    assert health.available
    assert health.failure("device_unreachable: no answer in time") is True

    assert not health.available
    assert health.last_error == "device_unreachable: no answer in time"


def test_a_server_comes_back_only_after_m_consecutive_successes() -> None:
    health = ServerHealth(down_after=1, up_after=2, available=False)

    assert health.success() is False
    health.failure("flapping")
    assert health.success() is False
    assert health.success() is True

    assert health.available and health.last_error == ""


async def test_the_first_claim_stands_and_later_ones_get_it_back() -> None:
    registry = InMemoryRoomRegistry()

    claims = await asyncio.gather(
        registry.claim("occ-17", "bbb-1"), registry.claim("occ-17", "bbb-2")
    )

    assert claims[0] == claims[1] == RoomClaim("occ-17", "bbb-1", 1)


async def test_a_move_is_a_compare_and_set_on_the_generation() -> None:
    registry = InMemoryRoomRegistry()
    claim = await registry.claim("occ-17", "bbb-1")

    moved = await registry.move(claim, "bbb-2")
    stale = await registry.move(claim, "bbb-3")  # a second worker with the old claim

    assert moved == RoomClaim("occ-17", "bbb-2", 2)
    assert stale is None
    assert await registry.current("occ-17") == moved


async def test_a_released_occurrence_can_be_claimed_anew() -> None:
    registry = InMemoryRoomRegistry()
    await registry.claim("occ-17", "bbb-1")

    await registry.release("occ-17")

    assert await registry.current("occ-17") is None
    assert await registry.claim("occ-17", "jitsi-1") == RoomClaim("occ-17", "jitsi-1", 1)
