"""The ONVIF camera adapter against the camera simulator over loopback: presets by name, status
and snapshot after a move, and every failure mode mapped to a domain error."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from adapters.camera import Camera, PtzPosition, settle
from adapters.camera.onvif import OnvifCameraClient, preload_wsdl
from booking.errors import (
    DeviceAuthFailed,
    DeviceBusy,
    DeviceProtocolError,
    DeviceUnreachable,
    InvalidInput,
    NotFound,
)
from simulators.hosting import SimHost
from simulators.onvif import OnvifCamera
from tests.onvif_fixtures import sim_host

__all__ = ["sim_host"]

USER, PASSWORD = "admin", "Kemerovo-42"


class Rig:
    """A hosted simulated camera and an adapter client for it."""

    def __init__(
        self, host: SimHost, device: OnvifCamera, client: OnvifCameraClient, control_url: str
    ) -> None:
        self.host = host
        self.device = device
        self.client = client
        self.control_url = control_url

    def set_faults(self, **faults: Any) -> None:
        """Through the control API, as an operator or the fleet would (applies at once); served
        by another camera's port since this one may be about to go away."""
        url = f"{self.control_url}/_sim/devices/{self.device.id}/faults"
        httpx.put(url, json=faults, timeout=5).raise_for_status()


def _camera(**options: Any) -> OnvifCamera:
    return OnvifCamera(
        id=f"cam-kem-20-{uuid.uuid4().hex[:6]}",
        username=USER,
        password=PASSWORD,
        name="МБОУ «СОШ №20» кабинет информатики",
        pan_tilt_speed=2.0,
        zoom_speed=2.0,
        **options,
    )


@pytest.fixture(scope="module")
def anchor(sim_host: SimHost) -> OnvifCamera:
    """A camera that stays healthy, so the control API stays reachable on some port."""
    device = _camera()
    sim_host.add(device)
    return device


@pytest.fixture
async def rig(sim_host: SimHost, anchor: OnvifCamera) -> AsyncIterator[Rig]:
    device = _camera(reboot_duration_s=0.6)
    port = sim_host.add(device)
    client = OnvifCameraClient(f"http://127.0.0.1:{port}", USER, PASSWORD, timeout_s=2.0)
    yield Rig(sim_host, device, client, sim_host.url_of(anchor.id))
    await client.close()


def _comment(jpeg: bytes) -> str:
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG"
    return bytes(image.info["comment"]).decode()


# --- doing the job ---
async def test_goes_to_board_preset_and_status_and_snapshot_show_it(rig: Rig) -> None:
    camera: Camera = rig.client

    await camera.goto_preset("board")
    moving = await camera.status()
    settled = await settle(camera, timeout_s=3, poll_s=0.05)
    jpeg = await camera.snapshot()

    board = rig.device.presets["2"].position
    assert moving.moving is True
    assert settled.moving is False
    assert settled.position is not None and settled.position.near(PtzPosition(*board))
    assert "preset=board" in _comment(jpeg)


async def test_device_info_and_presets_by_name(rig: Rig) -> None:
    info = await rig.client.device_info()
    presets = await rig.client.presets()

    assert (info.manufacturer, info.model) == ("VKS Simulators", "VKS-PTZ-20X")
    assert info.serial_number == rig.device.serial_number
    assert [p.name for p in presets] == ["teacher", "board", "class"]
    assert all(p.position is not None for p in presets)


async def test_set_preset_by_name_is_idempotent_and_remove_forgets_it(rig: Rig) -> None:
    rig.device.head.jump((0.2, -0.1, 0.3))

    first = await rig.client.set_preset("доска")
    rig.device.head.jump((0.25, -0.1, 0.3))
    second = await rig.client.set_preset("доска")
    stored = {p.name: p for p in await rig.client.presets()}
    await rig.client.remove_preset("доска")

    assert first == second
    assert stored["доска"].position == PtzPosition(0.25, -0.1, 0.3)
    assert "доска" not in {p.name for p in await rig.client.presets()}
    with pytest.raises(NotFound):
        await rig.client.goto_preset("доска")


async def test_preset_names_match_regardless_of_case(rig: Rig) -> None:
    await rig.client.goto_preset("Board")

    status = await settle(rig.client, timeout_s=3, poll_s=0.05)

    assert rig.device.preset_at() == "board"
    assert status.position is not None


async def test_unknown_preset_is_not_found_with_the_known_names(rig: Rig) -> None:
    with pytest.raises(NotFound) as caught:
        await rig.client.goto_preset("window")

    assert caught.value.details["known"] == ["board", "class", "teacher"]
    assert caught.value.details["device"] == rig.client.device


async def test_go_home_returns_to_the_home_position(rig: Rig) -> None:
    await rig.client.goto_preset("class")
    await settle(rig.client, timeout_s=3, poll_s=0.05)

    await rig.client.go_home()
    status = await settle(rig.client, timeout_s=3, poll_s=0.05)

    assert status.position == PtzPosition(0.0, 0.0, 0.0)


async def test_go_home_without_a_home_position_is_not_found(sim_host: SimHost) -> None:
    device = _camera(home=None)
    client = OnvifCameraClient(f"http://127.0.0.1:{sim_host.add(device)}", USER, PASSWORD)
    try:
        with pytest.raises(NotFound):
            await client.go_home()
    finally:
        await client.close()


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.goto_preset("  "), id="blank-name"),
        pytest.param(lambda c: c.set_preset("x" * 65), id="long-name"),
        pytest.param(lambda c: c.goto_preset("board", speed=1.5), id="speed"),
    ],
)
async def test_invalid_requests_are_refused_before_reaching_the_camera(rig: Rig, call: Any) -> None:
    with pytest.raises(InvalidInput):
        await call(rig.client)


def test_construction_needs_a_camera_url() -> None:
    with pytest.raises(InvalidInput):
        OnvifCameraClient("ftp://camera.local", USER, PASSWORD)


async def test_saving_a_preset_while_the_camera_moves_is_busy(rig: Rig) -> None:
    rig.device.head.continuous((0.2, 0.0, 0.0), timeout_s=5)

    with pytest.raises(DeviceBusy):
        await rig.client.set_preset("teacher")


async def test_settle_gives_up_on_a_camera_that_keeps_moving(rig: Rig) -> None:
    rig.device.head.continuous((0.1, 0.0, 0.0), timeout_s=5)

    with pytest.raises(DeviceBusy, match="still moving"):
        await settle(rig.client, timeout_s=0.2, poll_s=0.05)


# --- failure modes ---
async def test_wrong_password_is_device_auth_failed(rig: Rig) -> None:
    client = OnvifCameraClient(rig.client.url, USER, "wrong-password", device_id="cam-kem-20")
    try:
        with pytest.raises(DeviceAuthFailed) as caught:
            await client.goto_preset("board")
    finally:
        await client.close()

    assert caught.value.details["device"] == "cam-kem-20"


async def test_auth_failure_fault_on_a_connected_camera_is_device_auth_failed(rig: Rig) -> None:
    await rig.client.presets()  # connected with good credentials

    rig.set_faults(auth_failure=True)

    with pytest.raises(DeviceAuthFailed):
        await rig.client.goto_preset("board")
    with pytest.raises(DeviceAuthFailed):
        await rig.client.snapshot()


async def test_offline_camera_is_unreachable(rig: Rig) -> None:
    rig.set_faults(offline=True)
    started = time.monotonic()

    with pytest.raises(DeviceUnreachable):
        await rig.client.goto_preset("board")

    assert time.monotonic() - started < 1.0  # refused at once, not a timeout


async def test_camera_rebooting_is_unreachable_and_comes_back(rig: Rig) -> None:
    await rig.client.presets()

    rig.set_faults(reboot_s=0.6)
    with pytest.raises(DeviceUnreachable):
        await rig.client.status()
    await asyncio.sleep(1.0)  # reboot over; the host reopens within its sync interval
    status = await rig.client.status()

    assert status.moving is False


async def test_camera_rebooted_by_soap_goes_away_then_answers(rig: Rig) -> None:
    await rig.client.goto_preset("board")
    await settle(rig.client, timeout_s=3, poll_s=0.05)
    devicemgmt = await (await rig.client._connected()).client.create_devicemgmt_service()

    await devicemgmt.SystemReboot()
    with pytest.raises(DeviceUnreachable):
        await rig.client.device_info()
    await asyncio.sleep(1.0)
    status = await rig.client.status()

    assert status.position == PtzPosition(0.0, 0.0, 0.0)  # back at home after the reboot


async def test_flapping_camera_is_unreachable_only_while_down(rig: Rig) -> None:
    await rig.client.presets()
    rig.set_faults(flapping_period_s=0.3)
    outcomes: set[str] = set()

    deadline = time.monotonic() + 1.3
    while time.monotonic() < deadline:
        try:
            await rig.client.status()
            outcomes.add("answered")
        except DeviceUnreachable:
            outcomes.add("unreachable")
        await asyncio.sleep(0.05)

    assert outcomes == {"answered", "unreachable"}


async def test_slow_camera_exceeding_the_timeout_is_unreachable(rig: Rig) -> None:
    await rig.client.presets()
    rig.set_faults(latency_ms=1500)
    client = OnvifCameraClient(rig.client.url, USER, PASSWORD, timeout_s=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(DeviceUnreachable, match=r"within 0\.3 s"):
            await client.goto_preset("board")
    finally:
        await client.close()

    assert time.monotonic() - started < 1.0


async def test_slow_camera_within_the_timeout_still_works(rig: Rig) -> None:
    rig.set_faults(latency_ms=30)

    await rig.client.goto_preset("teacher")

    assert (await settle(rig.client, timeout_s=3, poll_s=0.05)).position is not None


async def test_camera_answering_errors_is_a_protocol_error(rig: Rig) -> None:
    await rig.client.presets()
    rig.set_faults(error_rate=1.0)

    with pytest.raises(DeviceProtocolError):
        await rig.client.goto_preset("board")
    with pytest.raises(DeviceProtocolError):
        await rig.client.snapshot()


async def test_camera_clock_skew_is_compensated_unless_disabled(rig: Rig) -> None:
    rig.set_faults(clock_skew_s=2 * 3600)
    strict = OnvifCameraClient(rig.client.url, USER, PASSWORD, adjust_time=False)
    try:
        info = await rig.client.device_info()
        with pytest.raises(DeviceAuthFailed):
            await strict.device_info()
    finally:
        await strict.close()

    assert info.model == "VKS-PTZ-20X"


# --- many cameras ---
async def test_many_cameras_move_to_board_concurrently(sim_host: SimHost) -> None:
    await preload_wsdl()
    devices = [_camera() for _ in range(40)]
    started = time.perf_counter()
    clients = [
        OnvifCameraClient(f"http://127.0.0.1:{sim_host.add(d)}", USER, PASSWORD) for d in devices
    ]
    created_ms = (time.perf_counter() - started) * 1000 / len(clients)
    try:
        started = time.perf_counter()
        await asyncio.gather(*(c.device_info() for c in clients))  # connect all
        connect_ms = (time.perf_counter() - started) * 1000 / len(clients)
        await asyncio.gather(*(c.goto_preset("board") for c in clients))
        await asyncio.gather(*(settle(c, timeout_s=3, poll_s=0.05) for c in clients))
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    print(f"camera client: create {created_ms:.2f} ms, connect {connect_ms:.1f} ms (40 at once)")

    assert [d.preset_at() for d in devices] == ["board"] * len(devices)
    assert created_ms < 5
