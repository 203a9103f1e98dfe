"""What the browser journeys run on: a small Kuzbass region whose equipment are
simulators on loopback ports (fault control on its own ephemeral port), the service
(pages, API, the automation and the health monitor, fast timings) served by uvicorn on an
ephemeral port, users of four roles, and Debian's Chromium driven by Playwright.

axe-core (`axe.min.js`, npm package `axe-core` 4.14.1, MPL-2.0: `axe.LICENSE.txt`, copied
unchanged from `npm pack axe-core@4.14.1`) is injected into each page checked."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from booking.access import Principal, Role
from booking.errors import Conflict
from booking.services import users
from booking.users import User
from simulators.hosting import SimHost
from tests.builders import (
    SIP_DOMAIN,
    SimulatedRegion,
    a_network,
    a_school,
    a_year_around,
    seed,
    the_kemerovo_network,
    the_rcc_operator,
)
from vks.auth.passwords import Passwords

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("VKS_SCREENSHOTS", tempfile.gettempdir() + "/vks-screenshots"))
"""Where `check_page` photographs each page: a temporary directory, so that a test run leaves
the checkout clean; `VKS_SCREENSHOTS=docs/screenshots` refreshes the README's pictures."""
PASSWORD = "Кузбасс-2026"

SCHOOLS = {  # id, name, network
    "kem-school-20": ("МБОУ «СОШ №20»", "kem-net-1"),
    "kem-school-12": ("МБОУ «СОШ №12»", "kem-net-1"),
    "kem-school-41": ("МБОУ «СОШ №41»", "kem-net-41"),
}
TERMINALS = (  # id, school, room
    ("term-kem-20", "kem-school-20", "Кабинет дистанционного обучения"),
    ("term-kem-20-b", "kem-school-20", "Кабинет информатики"),
    ("term-kem-12", "kem-school-12", "Кабинет 12"),
    ("term-kem-41", "kem-school-41", "Кабинет 41"),
)
USERS = (  # username, role, organisation, full name
    ("rcc", Role.RCC_OPERATOR, "kuzbass", "Оператор РКЦ Кузбасса"),
    ("school12", Role.LOCAL_COORDINATOR, "kem-school-12", "Морозова Анна Сергеевна"),
    ("net41", Role.NETWORK_ADMIN, "kem-net-41", "Гончарова Ирина Львовна"),
    ("viewer", Role.VIEWER, "kuzbass", "Наблюдатель"),
)


@dataclass
class Region:
    sims: SimulatedRegion
    rcc: Principal

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.sims.host.control_port}/_sim/devices"


def start_region(uow_factory: Any) -> Region:
    """Two networks of Kemerovo, four simulated terminals with cameras, one BBB server."""
    region, kemerovo, net1 = the_kemerovo_network()
    region.study_days = 7  # lessons run today, whatever the weekday
    net41 = a_network("kem-net-41", "Сеть СОШ №41", kemerovo, base_school_id="kem-school-41")
    nets = {"kem-net-1": net1, "kem-net-41": net41}
    schools = [
        a_school(id, name, nets[net], bell_schedule_id=None) for id, (name, net) in SCHOOLS.items()
    ]
    rcc = the_rcc_operator(region)
    sims = SimulatedRegion(host=SimHost(control_port=0).start(), rcc=rcc)
    server = sims.host_bbb("bbb-1")
    terminals = [
        sims.host_terminal(tid, site, name, sip_address=f"sip:{tid}@{SIP_DOMAIN}",
                           answer_delay_s=0.05)
        for tid, site, name in TERMINALS
    ]  # fmt: skip
    cameras = [sims.host_camera(tid) for tid, _, _ in TERMINALS if not tid.endswith("-b")]
    from datetime import UTC, datetime

    seed(
        uow_factory,
        years=[a_year_around(datetime.now(UTC).date())],
        organisations=[region, kemerovo, net1, net41, *schools],
        terminals=terminals,
        cameras=cameras,
        servers=[server],
    )
    passwords = Passwords()
    hashed = passwords.hash(PASSWORD)
    for username, role, org, name in USERS:
        user = User(id=uuid.uuid4().hex[:16], username=username, password_hash=hashed,
                    role=role, org_id=org, full_name=name)  # fmt: skip
        with contextlib.suppress(Conflict):
            users.add_user(uow_factory(), rcc, user)
    return Region(sims, rcc)


@dataclass
class Served:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: Any) -> Served:
    """The app on an ephemeral loopback port, in a thread."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return Served(f"http://127.0.0.1:{port}", server, thread)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.html)}))"
    )
    return found


def check_page(page: Any, name: str) -> None:
    """No serious or critical accessibility violation; a screenshot for the README."""
    violations = axe_violations(page)
    assert not violations, f"{name}: {violations}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
