"""Conformance: the simulated camera driven by the unchanged third-party ONVIF clients.

- `onvif-zeep-async` (the maintained async fork, installed in the project venv) runs in-process.
- `onvif-zeep` 0.2.12 (sync, last released 2018) imports under the same name `onvif`, so it
  runs in its own venv (`.venv-onvif-zeep`, created on first use and then reused) through
  `tests/conformance/onvif_zeep_run.py`, which prints what the client saw as JSON.

Each run: connect, device information, profiles, stream URI, snapshot URI and the JPEG behind
it, presets set/goto/remove, absolute move with MOVING then IDLE, wrong password refused.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import zeep.exceptions
from onvif import ONVIFCamera
from PIL import Image

from simulators.hosting import SimHost
from simulators.onvif import OnvifCamera
from tests.onvif_fixtures import sim_host

__all__ = ["sim_host"]

ROOT = Path(__file__).resolve().parents[2]
ZEEP_VENV = ROOT / ".venv-onvif-zeep"
ZEEP_SCRIPT = ROOT / "tests" / "conformance" / "onvif_zeep_run.py"
ZEEP_REQUIREMENTS = ["-r", str(ROOT / "requirements" / "onvif-zeep.txt")]  # `make lock`
USER, PASSWORD = "admin", "Kuzbass-2026"


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _has_onvif_zeep(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('onvif-zeep'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return probe.returncode == 0 and probe.stdout.strip() == "0.2.12"


@pytest.fixture(scope="session")
def onvif_zeep_python() -> Path:
    """The interpreter of a venv holding onvif-zeep 0.2.12, created once and then reused."""
    python = _venv_python(ZEEP_VENV)
    if _has_onvif_zeep(python):
        return python
    lock_path = Path(tempfile.gettempdir()) / "vks-venv-onvif-zeep.lock"
    with open(lock_path, "w") as lock:  # concurrent test runs build the venv once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _has_onvif_zeep(python):
            _build_venv(python)
    assert _has_onvif_zeep(python), f"{ZEEP_VENV} has no onvif-zeep 0.2.12 after installing"
    return python


def _build_venv(python: Path) -> None:
    try:
        subprocess.run([sys.executable, "-m", "venv", str(ZEEP_VENV)], check=True, timeout=120)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *ZEEP_REQUIREMENTS,
            ],
            check=True,
            timeout=600,
            capture_output=True,
            text=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        output = getattr(exc, "stderr", "") or ""
        message = f"cannot install {' '.join(ZEEP_REQUIREMENTS)} into {ZEEP_VENV}: {output[-500:]}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture
def camera(sim_host: SimHost) -> tuple[OnvifCamera, int]:
    device = OnvifCamera(
        id=f"cam-kem-20-{uuid.uuid4().hex[:6]}",
        username=USER,
        password=PASSWORD,
        name="МБОУ «СОШ №20» актовый зал",
        pan_tilt_speed=2.0,
        zoom_speed=2.0,
    )
    return device, sim_host.add(device)


def _jpeg_comment(data: bytes) -> str:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return bytes(image.info.get("comment", b"")).decode()


# --- onvif-zeep (sync, own venv) ---
def test_onvif_zeep_client_full_run(
    onvif_zeep_python: Path, camera: tuple[OnvifCamera, int]
) -> None:
    device, port = camera

    run = subprocess.run(
        [str(onvif_zeep_python), str(ZEEP_SCRIPT), "127.0.0.1", str(port), USER, PASSWORD],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    seen: dict[str, Any] = json.loads(run.stdout)
    assert seen["wsdl_dir"].endswith(os.path.join("site-packages", "wsdl"))
    assert seen["device"] == {
        "manufacturer": "VKS Simulators",
        "model": "VKS-PTZ-20X",
        "serial": device.serial_number,
    }
    assert [p["token"] for p in seen["profiles"]] == ["Profile_1", "Profile_2"]
    assert {p["ptz"] for p in seen["profiles"]} == {"PTZConfig_1"}
    assert seen["stream_uri"].startswith("rtsp://127.0.0.1:")
    assert seen["snapshot_uri"].startswith(f"http://127.0.0.1:{port}/")
    assert seen["snapshot"]["status"] == 200
    assert "pan=" in _jpeg_comment(base64.b64decode(seen["snapshot"]["jpeg_b64"]))
    assert seen["presets"] == ["board", "class", "teacher"]
    assert (
        seen["goto_statuses"][0].startswith("MOVING") and seen["goto_statuses"][-1] == "IDLE/IDLE"
    )
    assert seen["at_board"] == pytest.approx(list(device.presets["2"].position), abs=1e-3)
    assert "MOVING" in seen["absolute_statuses"][0] and seen["absolute_statuses"][-1] == "IDLE/IDLE"
    assert seen["after_absolute_move"] == pytest.approx([0.3, -0.2, 0.5], abs=1e-3)
    assert seen["presets_after_set"] == ["board", "class", "conformance", "teacher"]
    assert seen["presets_after_remove"] == ["board", "class", "teacher"]
    assert "does not exist" in seen["goto_removed"]
    assert seen["wrong_password"] == "Unknown error: Sender not Authorized"


# --- onvif-zeep-async (in-process) ---
async def _wait_idle(ptz: Any, token: str) -> tuple[list[str], Any]:
    seen: list[str] = []
    deadline = time.monotonic() + 5
    while True:
        status = await ptz.GetStatus({"ProfileToken": token})
        seen.append(f"{status.MoveStatus.PanTilt}/{status.MoveStatus.Zoom}")
        if seen[-1] == "IDLE/IDLE" or time.monotonic() > deadline:
            return seen, status
        await asyncio.sleep(0.05)


def _position(status: Any) -> list[float]:
    return [status.Position.PanTilt.x, status.Position.PanTilt.y, status.Position.Zoom.x]


async def test_onvif_zeep_async_client_full_run(camera: tuple[OnvifCamera, int]) -> None:
    device, port = camera
    client = ONVIFCamera("127.0.0.1", port, USER, PASSWORD)
    try:
        await client.update_xaddrs()
        devicemgmt = await client.create_devicemgmt_service()
        info = await devicemgmt.GetDeviceInformation()
        media = await client.create_media_service()
        profiles = await media.GetProfiles()
        token = profiles[0].token
        stream = await media.GetStreamUri(
            {
                "ProfileToken": token,
                "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
            }
        )
        jpeg = await client.get_snapshot(token)
        ptz = await client.create_ptz_service()
        presets = {p.Name: p.token for p in await ptz.GetPresets({"ProfileToken": token})}
        await ptz.GotoPreset({"ProfileToken": token, "PresetToken": presets["board"]})
        goto_seen, at_board = await _wait_idle(ptz, token)
        snapshot_at_board = await client.get_snapshot(token)
        await ptz.AbsoluteMove(
            {
                "ProfileToken": token,
                "Position": {"PanTilt": {"x": -0.3, "y": 0.1}, "Zoom": {"x": 0.6}},
            }
        )
        move_seen, moved = await _wait_idle(ptz, token)
        new_token = await ptz.SetPreset({"ProfileToken": token, "PresetName": "у окна"})
        names_after_set = sorted(p.Name for p in await ptz.GetPresets({"ProfileToken": token}))
        await ptz.RemovePreset({"ProfileToken": token, "PresetToken": new_token})
        names_after_remove = sorted(p.Name for p in await ptz.GetPresets({"ProfileToken": token}))
    finally:
        await client.close()

    assert set(client.xaddrs) == {
        "http://www.onvif.org/ver10/device/wsdl",
        "http://www.onvif.org/ver10/media/wsdl",
        "http://www.onvif.org/ver20/ptz/wsdl",
    }
    assert (info.Model, info.SerialNumber) == ("VKS-PTZ-20X", device.serial_number)
    assert [p.PTZConfiguration.token for p in profiles] == ["PTZConfig_1", "PTZConfig_1"]
    assert stream.Uri.startswith("rtsp://127.0.0.1:")
    assert jpeg is not None and "preset=" in _jpeg_comment(jpeg)
    assert goto_seen[0] != "IDLE/IDLE" and goto_seen[-1] == "IDLE/IDLE"
    assert _position(at_board) == pytest.approx(
        list(device.presets[presets["board"]].position), abs=1e-3
    )
    assert snapshot_at_board is not None and "preset=board" in _jpeg_comment(snapshot_at_board)
    assert move_seen[0] != "IDLE/IDLE"
    assert _position(moved) == pytest.approx([-0.3, 0.1, 0.6], abs=1e-3)
    assert names_after_set == ["board", "class", "teacher", "у окна"]
    assert names_after_remove == ["board", "class", "teacher"]


async def test_onvif_zeep_async_wrong_password_is_refused(camera: tuple[OnvifCamera, int]) -> None:
    _device, port = camera
    client = ONVIFCamera("127.0.0.1", port, USER, "not-the-password")
    try:
        with pytest.raises(zeep.exceptions.Fault, match="Sender not Authorized"):
            await client.update_xaddrs()
    finally:
        await client.close()


async def test_onvif_zeep_async_adjust_time_copes_with_a_skewed_camera_clock(
    camera: tuple[OnvifCamera, int],
) -> None:
    device, port = camera
    device.faults.update({"clock_skew_s": 2 * 3600})
    naive = ONVIFCamera("127.0.0.1", port, USER, PASSWORD)
    adjusting = ONVIFCamera("127.0.0.1", port, USER, PASSWORD, adjust_time=True)
    try:
        with pytest.raises(zeep.exceptions.Fault, match="Sender not Authorized"):
            await naive.update_xaddrs()
        await adjusting.update_xaddrs()
        hostname = await (await adjusting.create_devicemgmt_service()).GetHostname()
    finally:
        await naive.close()
        await adjusting.close()

    assert hostname.Name == device.hostname
