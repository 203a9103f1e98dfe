"""The fleet: every device of a region file in one host, each on its own port, terminals
routed to the fleet's own conference servers; and generated fleets."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest
import yaml

from simulators.fleet import FleetError, from_region, generate, load_region

DEMO_REGION = Path(__file__).resolve().parents[2] / "vks" / "demo" / "region.yaml"


def free_ports(count: int, consecutive: bool = False) -> list[int]:
    """Ports nobody listens on right now (the OS picks them, or a free consecutive run)."""
    if not consecutive:
        socks = [socket.socket() for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        ports = [s.getsockname()[1] for s in socks]
        for s in socks:
            s.close()
        return ports
    for _ in range(50):
        base = random.randint(30000, 60000 - count)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return list(range(base, base + count))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free run of ports")


def kuzbass_region(ports: list[int], shift: int = 0) -> dict:
    """A small region in the docs/region-file.md format (ports minus `shift`)."""
    t1, t2, cam, bbb, jitsi = (p - shift for p in ports)
    return {
        "region": {"id": "kuzbass", "name": "Кузбасс", "time_zone": "Asia/Novokuznetsk"},
        "servers": [
            {
                "id": "bbb-1",
                "kind": "bbb",
                "name": "BBB РКЦ №1",
                "base_url": f"http://127.0.0.1:{bbb}/bigbluebutton/",
                "secret": "demo-bbb-secret",
                "max_rooms": 40,
                "max_participants": 400,
                "gateway": {"sip_host": "sip.rcc.kuzbass.ru:5060", "ports": 60},
            },
            {
                "id": "jitsi-1",
                "kind": "jitsi",
                "name": "Jitsi РКЦ",
                "base_url": f"http://127.0.0.1:{jitsi}/",
                "secret": "demo-jitsi-secret",
                "max_rooms": 40,
                "max_participants": 400,
                "gateway": {"sip_host": "jitsi-gw.rcc.kuzbass.ru", "ports": 30},
            },
        ],
        "terminals": [
            {
                "id": "term-kem-20",
                "site": "kem-school-20",
                "name": "МБОУ «СОШ №20» — Актовый зал",
                "vendor": "cisco_xapi",
                "sip_address": "sip:term-kem-20@vks.kuzbass.ru",
                "control_url": f"http://127.0.0.1:{t1}",
                "username": "admin",
                "password": "secret",
                "active": True,
            },
            {
                "id": "term-nvk-5",
                "site": "nvk-school-5",
                "name": "МБОУ «СОШ №5»",
                "vendor": "poly_rest",
                "sip_address": "sip:term-nvk-5@vks.kuzbass.ru",
                "control_url": f"http://127.0.0.1:{t2}",
                "username": "admin",
                "password": "env:VKS_TEST_TERMINAL_PASSWORD",
            },
        ],
        "cameras": [
            {
                "id": "cam-kem-20",
                "terminal": "term-kem-20",
                "onvif_url": f"http://127.0.0.1:{cam}",
                "username": "admin",
                "password": "secret",
                "presets": ["teacher", "board", "class"],
            }
        ],
    }


@pytest.fixture(autouse=True)
def terminal_password(monkeypatch):
    monkeypatch.setenv("VKS_TEST_TERMINAL_PASSWORD", "nvk-secret")


def test_region_fleet_hosts_every_device_on_its_port(host, http, tmp_path):
    ports = free_ports(5)
    file = tmp_path / "region.yaml"
    file.write_text(yaml.safe_dump(kuzbass_region(ports), allow_unicode=True), encoding="utf-8")

    fleet = from_region(load_region(file))
    fleet.start_on(host)
    listing = http.get(f"http://127.0.0.1:{host.control_port}/_sim/devices").json()

    by_id = {d["id"]: d for d in listing}
    assert {i: (by_id[i]["kind"], by_id[i]["port"]) for i in by_id} == {
        "term-kem-20": ("terminal", ports[0]),
        "term-nvk-5": ("terminal", ports[1]),
        "cam-kem-20": ("camera", ports[2]),
        "bbb-1": ("bbb", ports[3]),
        "jitsi-1": ("jitsi", ports[4]),
    }
    assert by_id["term-nvk-5"]["vendor"] == "poly_rest"
    login = http.post(
        f"http://127.0.0.1:{ports[1]}/rest/session",
        json={"user": "admin", "password": "nvk-secret"},  # resolved from env:
    )
    assert login.status_code == 200
    camera_time = http.post(
        f"http://127.0.0.1:{ports[2]}/onvif/device_service",
        content=(
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
            "</s:Body></s:Envelope>"
        ),
        headers={"Content-Type": "application/soap+xml"},
    )
    assert camera_time.status_code == 200


def test_terminals_dial_the_fleet_servers_by_their_sip_host(
    host, http, xapi_at, bbb_at, eventually
):
    ports = free_ports(5)
    fleet = from_region(kuzbass_region(ports), answer_delay_s=0.05)
    fleet.start_on(host)
    bbb = bbb_at(ports[3], "demo-bbb-secret")
    voice_bridge = bbb.get(
        "create",
        meetingID="kem-20-fizika-9a",
        name="Физика, 9А",
        attendeePW="ap",
        moderatorPW="mp",
    ).findtext("voiceBridge")
    xapi = xapi_at(ports[0])

    xapi.dial(f"sip:{voice_bridge}@sip.rcc.kuzbass.ru:5060")  # the server's gateway.sip_host

    eventually(lambda: xapi.call_status() == "Connected")
    attendee = bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a").find("attendees/attendee")
    assert attendee.findtext("fullName") == "МБОУ «СОШ №20» — Актовый зал"
    jitsi_room = http.get(
        f"http://127.0.0.1:{ports[4]}/room-size", params={"room": "x", "domain": "meet.jitsi"}
    )
    assert jitsi_room.status_code == 404  # the terminal went to BBB, not to the Jitsi server


def test_port_offset_shifts_every_device_and_keeps_routing(host, http, xapi_at, bbb_at, eventually):
    ports = free_ports(5)
    region = kuzbass_region(ports, shift=1000)  # the file names ports 1000 lower

    fleet = from_region(region, port_offset=1000, answer_delay_s=0.05)
    fleet.start_on(host)

    assert sorted(p.port for p in fleet.plans) == sorted(ports)
    bbb = bbb_at(ports[3], "demo-bbb-secret")
    voice_bridge = bbb.get(
        "create",
        meetingID="kem-20-fizika-9a",
        name="Физика, 9А",
        attendeePW="ap",
        moderatorPW="mp",
    ).findtext("voiceBridge")
    xapi = xapi_at(ports[0])
    xapi.dial(f"sip:{voice_bridge}@127.0.0.1:{ports[3] - 1000}")  # the base_url as written
    eventually(lambda: xapi.call_status() == "Connected")


def test_generated_fleet_mixes_kinds_on_consecutive_ports(host, http):
    ports = free_ports(300, consecutive=True)

    fleet = generate(300, port_base=ports[0])
    fleet.start_on(host)
    listing = http.get(f"http://127.0.0.1:{host.control_port}/_sim/devices").json()

    assert sorted(d["port"] for d in listing) == ports
    kinds = {}
    for d in listing:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    assert kinds == {"bbb": 2, "jitsi": 1, "terminal": 150, "camera": 147}
    uptime = http.get(
        f"http://127.0.0.1:{ports[1]}/getxml?location=/Status/SystemUnit/Uptime",
        auth=("admin", "secret"),
    )
    assert uptime.status_code == 200


def test_generated_terminals_dial_generated_servers(host, xapi_at, bbb_at, eventually):
    ports = free_ports(101, consecutive=True)
    fleet = generate(101, port_base=ports[0], answer_delay_s=0.05)
    fleet.start_on(host)
    bbb = bbb_at(ports[0], "fleet-secret")
    voice_bridge = bbb.get("create", meetingID="urok-1", name="Урок").findtext("voiceBridge")
    xapi = xapi_at(ports[1])

    xapi.dial(f"sip:{voice_bridge}@127.0.0.1:{ports[0]}")

    eventually(lambda: xapi.call_status() == "Connected")
    assert bbb.get("getMeetingInfo", meetingID="urok-1").findtext("participantCount") == "1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["servers"][0].update(kind="mcu"), "unknown kind 'mcu'"),
        (
            lambda r: r["terminals"][1].update(control_url=r["terminals"][0]["control_url"]),
            "is used by both",
        ),
        (lambda r: r["terminals"][0].update(control_url="http://127.0.0.1"), "has no port"),
        (lambda r: r["terminals"][1].update(id="term-kem-20"), "appears twice"),
        (
            lambda r: r["cameras"][0].update(password="env:VKS_NO_SUCH_VARIABLE"),
            "VKS_NO_SUCH_VARIABLE is not set",
        ),
        (lambda r: r.update(terminals={"id": "x"}), "must be a list"),
    ],
)
def test_bad_regions_are_explained(change, message):
    region = kuzbass_region([18001, 18002, 18101, 18201, 18301])
    change(region)

    with pytest.raises(FleetError, match=message):
        from_region(region)


def test_missing_and_malformed_region_files(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("servers: [unclosed", encoding="utf-8")

    with pytest.raises(FleetError, match="region file not found"):
        load_region(tmp_path / "nope.yaml")
    with pytest.raises(FleetError, match="not a valid YAML file"):
        load_region(broken)


@pytest.mark.skipif(not DEMO_REGION.exists(), reason="the demo region is not in this tree yet")
def test_the_demo_region_builds_a_fleet():
    region = load_region(DEMO_REGION)

    fleet = from_region(region)

    counts = fleet.counts()
    assert counts["terminal"] == len(region.get("terminals") or [])
    assert counts["camera"] == len(region.get("cameras") or [])
    assert counts["bbb"] + counts["jitsi"] == len(region.get("servers") or [])
