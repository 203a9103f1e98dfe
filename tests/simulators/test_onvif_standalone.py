"""One camera run as its own process, the way `vks-sim camera` runs it: it tells where it
listens, answers SOAP and WS-Discovery there, and stops on SIGTERM."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.onvif_fixtures import NS, soap

SCRIPT = (
    "from simulators.onvif.standalone import run_camera; "
    "run_camera(0, 'admin', 'secret', id='cam-kem-20', discovery_port=0, location='kemerovo')"
)


@pytest.fixture
def camera_process() -> Iterator[tuple[str, int]]:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        discovery = process.stdout.readline()
        camera = process.stdout.readline()
        url = re.search(r"http://\S+", camera)
        udp = re.search(r":(\d+)$", discovery.strip())
        assert url and udp, (discovery, camera, process.stderr.read() if process.stderr else "")
        yield url.group(0), int(udp.group(1))
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_standalone_camera_answers_soap_and_discovery(camera_process: tuple[str, int]) -> None:
    url, udp_port = camera_process

    answer = httpx.post(
        f"{url}/onvif/device_service",
        content=soap("<tds:GetSystemDateAndTime/>"),
        headers={"Content-Type": "application/soap+xml"},
        timeout=5,
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(
            (
                '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
                'xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><e:Header>'
                f"<w:MessageID>uuid:{uuid.uuid4()}</w:MessageID></e:Header>"
                "<e:Body><d:Probe/></e:Body></e:Envelope>"
            ).encode(),
            ("127.0.0.1", udp_port),
        )
        match, _ = sock.recvfrom(65535)

    assert answer.status_code == 200
    assert NS["tds"].encode() in answer.content
    assert f"<d:XAddrs>{url}/onvif/device_service</d:XAddrs>".encode() in match
