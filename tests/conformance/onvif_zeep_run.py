"""Drive a camera through the unchanged third-party client `onvif-zeep` 0.2.12 (sync, 2018).

Runs in its own virtual environment (onvif-zeep and onvif-zeep-async both import as `onvif`),
started by `tests/simulators/test_onvif_conformance.py`. It only observes: it prints one JSON
object with what the client saw, and the test judges it. Standard library + onvif-zeep only.

    python onvif_zeep_run.py HOST PORT USER PASSWORD
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from typing import Any

import onvif  # type: ignore[import-not-found]
import requests
from onvif import ONVIFCamera, ONVIFError

WSDL_DIR = os.path.join(os.path.dirname(os.path.dirname(onvif.__file__)), "wsdl")  # site-packages


def wait_idle(ptz: Any, token: str, seen: list[str], timeout_s: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        status = ptz.GetStatus({"ProfileToken": token})
        seen.append(f"{status.MoveStatus.PanTilt}/{status.MoveStatus.Zoom}")
        if status.MoveStatus.PanTilt == "IDLE" and status.MoveStatus.Zoom == "IDLE":
            return status
        if time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def position(status: Any) -> list[float]:
    p = status.Position
    return [p.PanTilt.x, p.PanTilt.y, p.Zoom.x]


def main(host: str, port: int, user: str, password: str) -> dict[str, Any]:
    out: dict[str, Any] = {"wsdl_dir": WSDL_DIR}
    started = time.perf_counter()
    cam = ONVIFCamera(host, port, user, password, WSDL_DIR)
    out["connect_s"] = round(time.perf_counter() - started, 3)
    out["xaddrs"] = sorted(cam.xaddrs.values())

    info = cam.devicemgmt.GetDeviceInformation()
    out["device"] = {
        "manufacturer": info.Manufacturer,
        "model": info.Model,
        "serial": info.SerialNumber,
    }

    media = cam.create_media_service()
    profiles = media.GetProfiles()
    token = profiles[0].token
    out["profiles"] = [
        {
            "token": p.token,
            "name": p.Name,
            "ptz": p.PTZConfiguration.token if p.PTZConfiguration else None,
        }
        for p in profiles
    ]
    stream = media.GetStreamUri(
        {
            "ProfileToken": token,
            "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
        }
    )
    out["stream_uri"] = stream.Uri
    snapshot_uri = media.GetSnapshotUri({"ProfileToken": token}).Uri
    out["snapshot_uri"] = snapshot_uri
    reply = requests.get(snapshot_uri, auth=requests.auth.HTTPDigestAuth(user, password), timeout=5)
    out["snapshot"] = {
        "status": reply.status_code,
        "type": reply.headers.get("content-type"),
        "jpeg_b64": base64.b64encode(reply.content).decode(),
    }

    ptz = cam.create_ptz_service()
    presets = ptz.GetPresets({"ProfileToken": token})
    by_name = {p.Name: p.token for p in presets}
    out["presets"] = sorted(by_name)

    ptz.GotoPreset({"ProfileToken": token, "PresetToken": by_name["board"]})
    seen: list[str] = []
    out["at_board"] = position(wait_idle(ptz, token, seen))
    out["goto_statuses"] = seen

    ptz.AbsoluteMove(
        {"ProfileToken": token, "Position": {"PanTilt": {"x": 0.3, "y": -0.2}, "Zoom": {"x": 0.5}}}
    )
    seen = []
    out["after_absolute_move"] = position(wait_idle(ptz, token, seen))
    out["absolute_statuses"] = seen

    new_token = ptz.SetPreset({"ProfileToken": token, "PresetName": "conformance"})
    out["set_preset_token"] = new_token
    out["presets_after_set"] = sorted(p.Name for p in ptz.GetPresets({"ProfileToken": token}))
    ptz.RemovePreset({"ProfileToken": token, "PresetToken": new_token})
    out["presets_after_remove"] = sorted(p.Name for p in ptz.GetPresets({"ProfileToken": token}))
    try:
        ptz.GotoPreset({"ProfileToken": token, "PresetToken": new_token})
        out["goto_removed"] = "accepted"
    except ONVIFError as exc:
        out["goto_removed"] = str(exc)

    try:
        ONVIFCamera(host, port, user, password + "-wrong", WSDL_DIR)
        out["wrong_password"] = "accepted"
    except ONVIFError as exc:
        out["wrong_password"] = str(exc)
    return out


if __name__ == "__main__":
    result = main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
    print(json.dumps(result, ensure_ascii=False))
