"""The ONVIF camera simulator on the wire: hand-written SOAP 1.2 requests over loopback HTTP,
checking what real clients depend on (auth forms, fault shapes, consistent tokens, motion that
takes time, snapshots that show the preset, reboot, faults)."""

from __future__ import annotations

import io
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from simulators.hosting import SimHost
from simulators.onvif import OnvifCamera
from tests.onvif_fixtures import (
    NS,
    SOAP_CONTENT_TYPE,
    env,
    fault_codes,
    sim_host,
    since,
    soap,
    ter,
    username_token,
)

__all__ = ["sim_host"]

USER, PASSWORD = "admin", "Sch00l-20"
PROFILE = "Profile_1"


class Cam:
    """A hosted simulated camera and a tiny SOAP client for it."""

    def __init__(self, device: OnvifCamera, url: str) -> None:
        self.device = device
        self.url = url
        self.http = httpx.Client(timeout=5)

    def post(
        self, path: str, body: str, security: str | None = None, extra: str = ""
    ) -> httpx.Response:
        token = username_token(USER, PASSWORD) if security is None else security
        return self.http.post(
            self.url + path,
            content=soap(body, token, extra),
            headers={"Content-Type": SOAP_CONTENT_TYPE},
        )

    def device_call(self, body: str, security: str | None = None, extra: str = "") -> ET.Element:
        return _ok(self.post("/onvif/device_service", body, security, extra))

    def media(self, body: str) -> ET.Element:
        return _ok(self.post("/onvif/media_service", body))

    def ptz(self, body: str) -> ET.Element:
        return _ok(self.post("/onvif/ptz_service", body))

    def status(self) -> tuple[tuple[float, float, float], str, str]:
        root = self.ptz(
            f"<tptz:GetStatus><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken></tptz:GetStatus>"
        )
        status = root.find(".//tptz:PTZStatus", NS)
        assert status is not None
        pt = status.find("tt:Position/tt:PanTilt", NS)
        zoom = status.find("tt:Position/tt:Zoom", NS)
        assert pt is not None and zoom is not None
        position = (
            float(pt.get("x", "nan")),
            float(pt.get("y", "nan")),
            float(zoom.get("x", "nan")),
        )
        return (
            position,
            status.findtext("tt:MoveStatus/tt:PanTilt", "", NS),
            status.findtext("tt:MoveStatus/tt:Zoom", "", NS),
        )

    def wait_idle(self, timeout_s: float = 3.0) -> tuple[float, float, float]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            position, pan_tilt, zoom = self.status()
            if pan_tilt == zoom == "IDLE":
                return position
            time.sleep(0.05)
        raise AssertionError("camera still moving")


def _ok(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/soap+xml")
    return ET.fromstring(response.content)


def _fault(response: httpx.Response) -> tuple[int, str, list[str], str]:
    code, subcodes, reason = fault_codes(response.content)
    return response.status_code, code, subcodes, reason


@pytest.fixture
def cam(sim_host: SimHost) -> Iterator[Cam]:
    device = OnvifCamera(
        id=f"cam-kem-20-{uuid.uuid4().hex[:6]}",
        username=USER,
        password=PASSWORD,
        name="МБОУ «СОШ №20» кабинет 12",
        location="kemerovo",
        reboot_duration_s=0.6,
    )
    port = sim_host.add(device)
    camera = Cam(device, f"http://127.0.0.1:{port}")
    yield camera
    camera.http.close()


GOTO_BOARD = (
    f"<tptz:GotoPreset><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
    "<tptz:PresetToken>2</tptz:PresetToken></tptz:GotoPreset>"
)


# --- device service and authentication ---
def test_system_date_and_time_is_answered_without_credentials(cam: Cam) -> None:
    root = cam.device_call("<tds:GetSystemDateAndTime/>", security="")

    utc = root.find(".//tt:UTCDateTime", NS)
    assert utc is not None
    year = int(utc.findtext("tt:Date/tt:Year", "0", NS))
    hour = int(utc.findtext("tt:Time/tt:Hour", "-1", NS))
    assert (year, hour) == (time.gmtime().tm_year, time.gmtime().tm_hour) or year >= 2024
    assert root.findtext(".//tt:TimeZone/tt:TZ", "", NS) == "<+07>-7"  # Asia/Novokuznetsk


def test_clock_skew_fault_shifts_the_reported_time(cam: Cam) -> None:
    cam.device.faults.update({"clock_skew_s": 3 * 3600})

    root = cam.device_call("<tds:GetSystemDateAndTime/>", security="")

    hour = int(root.findtext(".//tt:UTCDateTime/tt:Time/tt:Hour", "-1", NS))
    assert hour == time.gmtime(time.time() + 3 * 3600).tm_hour


def test_request_without_credentials_gets_not_authorized_fault(cam: Cam) -> None:
    response = cam.post("/onvif/device_service", "<tds:GetDeviceInformation/>", security="")

    status, code, subcodes, reason = _fault(response)
    assert (status, code, subcodes) == (400, env("Sender"), [ter("NotAuthorized")])
    assert reason == "Sender not Authorized"


@pytest.mark.parametrize(
    "security",
    [
        pytest.param(lambda: username_token(USER, PASSWORD, zulu=True), id="digest-Z"),
        pytest.param(lambda: username_token(USER, PASSWORD, zulu=False), id="digest-+00:00"),
        pytest.param(lambda: username_token(USER, PASSWORD, digest=False), id="text"),
        pytest.param(lambda: username_token(USER, PASSWORD, created=since(-90)), id="skew-90s"),
    ],
)
def test_username_token_forms_real_clients_send_are_accepted(cam: Cam, security) -> None:  # type: ignore[no-untyped-def]
    root = cam.device_call("<tds:GetDeviceInformation/>", security=security())

    assert root.findtext(".//tds:Model", "", NS) == "VKS-PTZ-20X"
    assert root.findtext(".//tds:SerialNumber", "", NS).startswith("VKS")


@pytest.mark.parametrize(
    "security",
    [
        pytest.param(lambda: username_token(USER, "wrong"), id="wrong-password-digest"),
        pytest.param(lambda: username_token(USER, "wrong", digest=False), id="wrong-password-text"),
        pytest.param(lambda: username_token("operator", PASSWORD), id="wrong-user"),
        pytest.param(lambda: username_token(USER, PASSWORD, created=since(-900)), id="stale-token"),
    ],
)
def test_bad_tokens_are_refused(cam: Cam, security) -> None:  # type: ignore[no-untyped-def]
    response = cam.post("/onvif/device_service", "<tds:GetDeviceInformation/>", security=security())

    assert _fault(response)[:3] == (400, env("Sender"), [ter("NotAuthorized")])


def test_auth_failure_fault_refuses_good_credentials_but_still_tells_the_time(cam: Cam) -> None:
    cam.device.faults.update({"auth_failure": True})

    refused = cam.post("/onvif/ptz_service", GOTO_BOARD)
    time_answer = cam.post("/onvif/device_service", "<tds:GetSystemDateAndTime/>", security="")

    assert _fault(refused)[2] == [ter("NotAuthorized")]
    assert time_answer.status_code == 200


def test_skewed_camera_refuses_fresh_tokens_and_accepts_tokens_on_its_own_clock(cam: Cam) -> None:
    cam.device.faults.update({"clock_skew_s": 3600})

    fresh = cam.post("/onvif/device_service", "<tds:GetHostname/>")
    adjusted = cam.post(
        "/onvif/device_service",
        "<tds:GetHostname/>",
        security=username_token(USER, PASSWORD, created=since(3600)),
    )

    assert _fault(fresh)[2] == [ter("NotAuthorized")]
    assert adjusted.status_code == 200


def test_error_rate_fault_answers_receiver_fault_with_http_500(cam: Cam) -> None:
    cam.device.faults.update({"error_rate": 1.0})

    response = cam.post("/onvif/device_service", "<tds:GetDeviceInformation/>")

    status, code, _subcodes, _reason = _fault(response)
    assert (status, code) == (500, env("Receiver"))


def test_unknown_soap_headers_such_as_ws_addressing_are_ignored(cam: Cam) -> None:
    addressing = (
        "<wsa:Action>http://www.onvif.org/ver10/device/wsdl/GetHostname</wsa:Action>"
        f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
        f"<wsa:To>{cam.url}/onvif/device_service</wsa:To>"
    )

    root = cam.device_call("<tds:GetHostname/>", extra=addressing)

    assert root.findtext(".//tt:Name", "", NS) == cam.device.hostname


def test_services_list_only_device_media_and_ptz_at_the_address_used(cam: Cam) -> None:
    root = cam.device_call(
        "<tds:GetServices><tds:IncludeCapability>true</tds:IncludeCapability></tds:GetServices>"
    )

    services = {
        s.findtext("tds:Namespace", "", NS): s.findtext("tds:XAddr", "", NS)
        for s in root.iterfind(".//tds:Service", NS)
    }
    assert services == {
        NS["tds"]: f"{cam.url}/onvif/device_service",
        NS["trt"]: f"{cam.url}/onvif/media_service",
        NS["tptz"]: f"{cam.url}/onvif/ptz_service",
    }


def test_capabilities_of_an_unimplemented_service_are_refused(cam: Cam) -> None:
    everything = cam.device_call(
        "<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>"
    )
    events = cam.post(
        "/onvif/device_service",
        "<tds:GetCapabilities><tds:Category>Events</tds:Category></tds:GetCapabilities>",
    )

    assert everything.findtext(".//tt:PTZ/tt:XAddr", "", NS) == f"{cam.url}/onvif/ptz_service"
    assert everything.find(".//tt:Events", NS) is None
    assert _fault(events)[:3] == (
        500,
        env("Receiver"),
        [ter("ActionNotSupported"), ter("NoSuchService")],
    )


def test_unimplemented_operation_is_a_receiver_fault(cam: Cam) -> None:
    response = cam.post("/onvif/device_service", "<tds:GetUsers/>")

    assert _fault(response)[1:3] == (env("Receiver"), [ter("ActionNotSupported")])


def test_network_hostname_and_scopes(cam: Cam) -> None:
    interfaces = cam.device_call("<tds:GetNetworkInterfaces/>")
    scopes = cam.device_call("<tds:GetScopes/>")

    assert interfaces.findtext(".//tt:IPv4/tt:Config/tt:Manual/tt:Address", "", NS) == "127.0.0.1"
    assert interfaces.findtext(".//tt:HwAddress", "", NS).startswith("02:")
    items = [s.text for s in scopes.iterfind(".//tt:ScopeItem", NS)]
    assert "onvif://www.onvif.org/type/ptz" in items
    assert "onvif://www.onvif.org/location/kemerovo" in items
    assert any(
        i and i.startswith("onvif://www.onvif.org/name/%D0%9C%D0%91%D0%9E%D0%A3") for i in items
    )


def test_malformed_xml_is_a_sender_fault(cam: Cam) -> None:
    response = cam.http.post(cam.url + "/onvif/device_service", content=b"<env:Envelope")

    assert _fault(response)[:3] == (400, env("Sender"), [ter("WellFormed")])


# --- media service ---
def test_profiles_sources_and_ptz_configurations_reference_each_other(cam: Cam) -> None:
    profiles = cam.media("<trt:GetProfiles/>")
    sources = cam.media("<trt:GetVideoSources/>")
    configurations = cam.ptz("<tptz:GetConfigurations/>")
    nodes = cam.ptz("<tptz:GetNodes/>")

    source_tokens = {s.get("token") for s in sources.iterfind(".//trt:VideoSources", NS)}
    config_nodes = {
        c.get("token"): c.findtext("tt:NodeToken", "", NS)
        for c in configurations.iterfind(".//tptz:PTZConfiguration", NS)
    }
    node_tokens = {n.get("token") for n in nodes.iterfind(".//tptz:PTZNode", NS)}
    all_profiles = profiles.findall(".//trt:Profiles", NS)
    assert len(all_profiles) == 2
    for profile in all_profiles:
        vsc = profile.find("tt:VideoSourceConfiguration", NS)
        ptz = profile.find("tt:PTZConfiguration", NS)
        assert vsc is not None and ptz is not None
        assert vsc.findtext("tt:SourceToken", "", NS) in source_tokens
        assert ptz.get("token") in config_nodes
        assert config_nodes[ptz.get("token")] in node_tokens
        assert profile.find("tt:VideoEncoderConfiguration/tt:Encoding", NS) is not None


def test_stream_uri_is_rtsp_on_the_camera_host(cam: Cam) -> None:
    root = cam.media(
        f"<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream>"
        "<tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>"
        f"<trt:ProfileToken>{PROFILE}</trt:ProfileToken></trt:GetStreamUri>"
    )

    assert root.findtext(".//tt:Uri", "", NS).startswith("rtsp://127.0.0.1:554/")


@pytest.mark.parametrize(
    ("body", "subcode"),
    [
        (
            "<trt:GetSnapshotUri><trt:ProfileToken>Profile_9</trt:ProfileToken></trt:GetSnapshotUri>",
            "NoProfile",
        ),
        (
            "<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Broadcast</tt:Stream><tt:Transport>"
            "<tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>"
            f"<trt:ProfileToken>{PROFILE}</trt:ProfileToken></trt:GetStreamUri>",
            "InvalidStreamSetup",
        ),
    ],
)
def test_invalid_media_arguments_get_ter_faults(cam: Cam, body: str, subcode: str) -> None:
    response = cam.post("/onvif/media_service", body)

    assert _fault(response)[:3] == (400, env("Sender"), [ter("InvalidArgVal"), ter(subcode)])


# --- PTZ ---
def test_goto_board_preset_moves_at_finite_speed_then_stands_on_board(cam: Cam) -> None:
    cam.ptz(GOTO_BOARD)
    _position, pan_tilt, zoom = cam.status()
    settled = cam.wait_idle()

    assert "MOVING" in (pan_tilt, zoom)
    assert settled == pytest.approx(cam.device.presets["2"].position, abs=1e-3)
    assert cam.device.presets["2"].name == "board"
    assert cam.device.preset_at() == "board"


def test_snapshot_shows_the_preset_the_camera_stands_on(cam: Cam) -> None:
    cam.ptz(GOTO_BOARD)
    cam.wait_idle()
    uri = cam.media(
        f"<trt:GetSnapshotUri><trt:ProfileToken>{PROFILE}</trt:ProfileToken></trt:GetSnapshotUri>"
    ).findtext(".//tt:Uri", "", NS)

    response = cam.http.get(uri, auth=httpx.DigestAuth(USER, PASSWORD))

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG" and image.size == (640, 360)
    assert b"preset=board" in image.info["comment"]
    red, green, blue = image.convert("RGB").getpixel((100, 150))  # the green board fills the view
    assert green > red and green > blue


def test_snapshot_requires_http_auth_and_offers_digest_and_basic(cam: Cam) -> None:
    url = f"{cam.url}/onvif/snapshot?profile={PROFILE}"

    anonymous = cam.http.get(url)
    basic = cam.http.get(url, auth=(USER, PASSWORD))
    wrong = cam.http.get(url, auth=httpx.DigestAuth(USER, "wrong"))

    assert anonymous.status_code == 401
    challenges = anonymous.headers.get_list("www-authenticate")
    assert challenges[0].startswith("Digest ") and 'qop="auth"' in challenges[0]
    assert challenges[1].startswith("Basic ")
    assert basic.status_code == 200 and basic.content[:2] == b"\xff\xd8"
    assert wrong.status_code == 401


def test_presets_are_set_listed_and_removed_by_token(cam: Cam) -> None:
    cam.ptz(
        f"<tptz:AbsoluteMove><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken><tptz:Position>"
        '<tt:PanTilt x="-0.2" y="0.3"/><tt:Zoom x="0.1"/></tptz:Position></tptz:AbsoluteMove>'
    )
    cam.wait_idle()
    created = cam.ptz(
        f"<tptz:SetPreset><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
        "<tptz:PresetName>доска-2</tptz:PresetName></tptz:SetPreset>"
    )
    token = created.findtext(".//tptz:PresetToken", "", NS)
    listed = cam.ptz(
        f"<tptz:GetPresets><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken></tptz:GetPresets>"
    )
    cam.ptz(
        f"<tptz:RemovePreset><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
        f"<tptz:PresetToken>{token}</tptz:PresetToken></tptz:RemovePreset>"
    )
    after = cam.ptz(
        f"<tptz:GetPresets><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken></tptz:GetPresets>"
    )

    names = {
        p.get("token"): p.findtext("tt:Name", "", NS) for p in listed.iterfind(".//tptz:Preset", NS)
    }
    assert names[token] == "доска-2"
    assert set(names.values()) == {"teacher", "board", "class", "доска-2"}
    pt = next(p for p in listed.iterfind(".//tptz:Preset", NS) if p.get("token") == token).find(
        "tt:PTZPosition/tt:PanTilt", NS
    )
    assert pt is not None and float(pt.get("x", "0")) == pytest.approx(-0.2)
    assert token not in {p.get("token") for p in after.iterfind(".//tptz:Preset", NS)}


@pytest.mark.parametrize(
    ("service", "body", "expected"),
    [
        (
            "/onvif/ptz_service",
            f"<tptz:SetPreset><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
            "<tptz:PresetName>board</tptz:PresetName></tptz:SetPreset>",
            (400, "Sender", ["InvalidArgVal", "PresetExist"]),
        ),
        (
            "/onvif/ptz_service",
            f"<tptz:RemovePreset><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
            "<tptz:PresetToken>99</tptz:PresetToken></tptz:RemovePreset>",
            (400, "Sender", ["InvalidArgVal", "NoToken"]),
        ),
        (
            "/onvif/ptz_service",
            "<tptz:GotoPreset><tptz:ProfileToken>Profile_X</tptz:ProfileToken>"
            "<tptz:PresetToken>1</tptz:PresetToken></tptz:GotoPreset>",
            (400, "Sender", ["InvalidArgVal", "NoProfile"]),
        ),
        (
            "/onvif/ptz_service",
            f"<tptz:AbsoluteMove><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken><tptz:Position>"
            '<tt:PanTilt x="1.5" y="0"/></tptz:Position></tptz:AbsoluteMove>',
            (400, "Sender", ["InvalidArgVal", "InvalidPosition"]),
        ),
        (
            "/onvif/ptz_service",
            f"<tptz:ContinuousMove><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
            '<tptz:Velocity><tt:PanTilt x="2" y="0"/></tptz:Velocity></tptz:ContinuousMove>',
            (400, "Sender", ["InvalidArgVal", "InvalidVelocity"]),
        ),
        (
            "/onvif/ptz_service",
            f"<tptz:GotoPreset><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
            '<tptz:PresetToken>1</tptz:PresetToken><tptz:Speed><tt:PanTilt x="3" y="1"/>'
            "</tptz:Speed></tptz:GotoPreset>",
            (400, "Sender", ["InvalidArgVal", "InvalidSpeed"]),
        ),
    ],
    ids=[
        "preset-exists",
        "no-token",
        "no-profile",
        "invalid-position",
        "invalid-velocity",
        "invalid-speed",
    ],
)
def test_invalid_ptz_arguments_get_ter_faults(
    cam: Cam, service: str, body: str, expected: tuple[int, str, list[str]]
) -> None:
    response = cam.post(service, body)

    status, code, subcodes = expected
    assert _fault(response)[:3] == (status, env(code), [ter(s) for s in subcodes])


def test_too_many_presets_is_a_receiver_action_fault(sim_host: SimHost) -> None:
    device = OnvifCamera(
        id=f"cam-{uuid.uuid4().hex[:6]}", username=USER, password=PASSWORD, max_presets=3
    )
    cam = Cam(device, f"http://127.0.0.1:{sim_host.add(device)}")

    response = cam.post(
        "/onvif/ptz_service",
        f"<tptz:SetPreset><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
        "<tptz:PresetName>window</tptz:PresetName></tptz:SetPreset>",
    )

    assert _fault(response)[:3] == (500, env("Receiver"), [ter("Action"), ter("TooManyPresets")])


def test_home_position_must_be_set_before_going_home(sim_host: SimHost) -> None:
    device = OnvifCamera(
        id=f"cam-{uuid.uuid4().hex[:6]}", username=USER, password=PASSWORD, home=None
    )
    cam = Cam(device, f"http://127.0.0.1:{sim_host.add(device)}")
    go_home = (
        f"<tptz:GotoHomePosition><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
        "</tptz:GotoHomePosition>"
    )

    refused = cam.post("/onvif/ptz_service", go_home)
    cam.ptz(GOTO_BOARD)
    cam.wait_idle()
    cam.ptz(
        f"<tptz:SetHomePosition><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken></tptz:SetHomePosition>"
    )
    cam.ptz(
        f"<tptz:RelativeMove><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken><tptz:Translation>"
        '<tt:PanTilt x="0.3" y="0"/></tptz:Translation></tptz:RelativeMove>'
    )
    cam.wait_idle()
    cam.ptz(go_home)
    back = cam.wait_idle()

    assert _fault(refused)[:3] == (500, env("Receiver"), [ter("Action"), ter("NoHomePosition")])
    assert back == pytest.approx(device.presets["2"].position, abs=1e-3)


def test_relative_move_stops_at_the_end_stop(cam: Cam) -> None:
    cam.device.head.pan_tilt_speed = 4.0
    cam.ptz(
        f"<tptz:RelativeMove><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken><tptz:Translation>"
        '<tt:PanTilt x="1" y="0"/></tptz:Translation></tptz:RelativeMove>'
    )
    cam.wait_idle()
    cam.ptz(
        f"<tptz:RelativeMove><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken><tptz:Translation>"
        '<tt:PanTilt x="0.5" y="0"/></tptz:Translation></tptz:RelativeMove>'
    )

    assert cam.wait_idle()[0] == pytest.approx(1.0)


def test_continuous_move_runs_until_its_timeout(cam: Cam) -> None:
    cam.ptz(
        f"<tptz:ContinuousMove><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
        '<tptz:Velocity><tt:PanTilt x="0.5" y="0"/></tptz:Velocity>'
        "<tptz:Timeout>PT0.3S</tptz:Timeout></tptz:ContinuousMove>"
    )
    _, moving, _ = cam.status()
    pan = cam.wait_idle()[0]

    assert moving == "MOVING"
    assert pan == pytest.approx(0.15, abs=1e-3)  # 0.5 × 1.0 unit/s × 0.3 s


def test_stop_freezes_a_continuous_move(cam: Cam) -> None:
    cam.ptz(
        f"<tptz:ContinuousMove><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken>"
        '<tptz:Velocity><tt:PanTilt x="-1" y="0"/><tt:Zoom x="1"/></tptz:Velocity>'
        "</tptz:ContinuousMove>"
    )
    time.sleep(0.1)
    cam.ptz(f"<tptz:Stop><tptz:ProfileToken>{PROFILE}</tptz:ProfileToken></tptz:Stop>")
    stopped, pan_tilt, zoom = cam.status()
    time.sleep(0.1)
    later, _, _ = cam.status()

    assert (pan_tilt, zoom) == ("IDLE", "IDLE")
    assert -1.0 < stopped[0] < -0.05
    assert later == stopped


# --- reboot ---
def test_reboot_takes_the_camera_away_and_it_comes_back_at_home(cam: Cam) -> None:
    cam.ptz(GOTO_BOARD)
    cam.wait_idle()

    answer = cam.device_call("<tds:SystemReboot/>")
    with pytest.raises(httpx.TransportError):
        httpx.post(
            cam.url + "/onvif/device_service",
            content=soap("<tds:GetSystemDateAndTime/>"),
            timeout=2,
        )
    time.sleep(cam.device.reboot_duration_s + 0.4)  # the host reopens within its sync interval
    position = cam.wait_idle()

    assert "Rebooting" in answer.findtext(".//tds:Message", "", NS)
    assert position == (0.0, 0.0, 0.0)


def test_kept_alive_connection_is_cut_during_a_reboot(cam: Cam) -> None:
    cam.device_call("<tds:GetHostname/>")  # opens the kept-alive connection

    cam.device.faults.update({"reboot_s": 0.5})

    with pytest.raises(httpx.TransportError):
        cam.post("/onvif/device_service", "<tds:GetHostname/>")


# --- scale ---
def test_a_thousand_idle_cameras_cost_little_memory() -> None:
    import tracemalloc

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    cameras = [
        OnvifCamera(id=f"cam-{i:05d}", username=USER, password=PASSWORD) for i in range(1000)
    ]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()

    per_camera = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(cameras)
    assert per_camera < 4000, f"{per_camera:.0f} bytes per camera"
