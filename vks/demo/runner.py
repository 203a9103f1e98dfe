"""`vks demo`: a fresh SQLite database in the data directory with the demo region, its
timetable and users, the simulated devices of the region on loopback, and the API.

Other parts of the service (automation, monitoring) join through `EXTENSIONS`."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from booking.access import Principal, Role
from booking.services import inventory
from booking.tokens import SERVICE_PREFIX
from vks.auth.issuing import issue_recorded
from vks.auth.tokens import Scope
from vks.bootstrap import Container, build_container
from vks.demo import REGION_FILE, TIMETABLE_FILE
from vks.demo.users import PASSWORD, create_demo_users
from vks.importing.loader import import_files
from vks.importing.report import ImportFailed
from vks.settings import Settings

DATABASE_NAME = "demo.sqlite"

Stop = Callable[[], None]
Extension = Callable[[Container], Stop | None]
EXTENSIONS: list[Extension] = []
"""HOOK: other issues register here what `vks demo` should also start (the automation,
the health monitor): each gets the container and returns how to stop it."""


def _automation(container: Container) -> Stop | None:
    """Lessons a few minutes apart that start and end by themselves (vks.automation.demo)."""
    from vks.automation.demo import demo_config, extension

    timing = demo_config().timing
    print(
        "vks demo: the demo shortens the automation's lead times so its lessons fit in ten"
        f" minutes: pre-flight {timing.preflight_lead.total_seconds():.0f} s and start"
        f" {timing.start_lead.total_seconds():.0f} s before a lesson (`vks serve`/`vks worker`:"
        " VKS_PREFLIGHT_MINUTES, 30, and VKS_START_LEAD_MINUTES, 5)",
        flush=True,
    )
    return extension(container)


EXTENSIONS.append(_automation)


def _monitor(container: Container) -> Stop | None:
    """The health monitor polls the simulated devices (vks.monitor.wiring)."""
    from vks.monitor.wiring import attach_monitor

    return attach_monitor(None, container)


EXTENSIONS.append(_monitor)


SCHEDULER_NETWORK = "kem-net-20"  # the network whose timetable the demo scheduler posts
SCHEDULER_NAME = "demo-scheduler"
SCHEDULER_TTL = timedelta(days=30)


def clock_note(now: datetime) -> str:
    """What the times the demo prints are: this machine's local clock, with its offset."""
    local = now.astimezone()
    return (
        f"times printed below are this machine's local time ({local:%Z}, UTC{local:%z});"
        " the API answers instants in UTC with each school's local time beside them"
    )


def print_scheduler_token(container: Container) -> None:
    """A recorded (revocable) service-account token of an external timetable scheduler."""
    rcc = Principal("demo", Role.RCC_OPERATOR, "kuzbass", "kuzbass")
    network = inventory.get_organisation(container.uow_factory(), rcc, SCHEDULER_NETWORK)
    principal = Principal(f"{SERVICE_PREFIX}{SCHEDULER_NAME}", Role.SCHEDULER, network.id,
                          network.path)  # fmt: skip
    token = issue_recorded(
        container.tokens, container.uow_factory, principal, now=container.clock.now(),
        ttl=SCHEDULER_TTL, scope=Scope.API, name=SCHEDULER_NAME,
    )  # fmt: skip
    print(
        f"vks demo: scheduler token of {network.id} (POST /api/v1/timetable), valid until"
        f" {token.expires_at:%Y-%m-%d}; revoke: vks token revoke {token.jti}\n"
        f"    {token.value}",
        flush=True,
    )


def fresh_database(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / DATABASE_NAME).resolve()
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
    return f"sqlite:///{path}"


LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:(\d+)")


def demo_region_file(settings: Settings) -> Path:
    """The demo's region file, its devices' ports shifted by `VKS_DEMO_PORT_OFFSET` (a
    copy in the data dir; the file itself when the offset is 0)."""
    offset = settings.demo_port_offset
    if offset == 0:
        return REGION_FILE
    text = LOOPBACK_PORT.sub(
        lambda m: f"127.0.0.1:{int(m.group(1)) + offset}", REGION_FILE.read_text("utf-8")
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shifted = settings.data_dir / REGION_FILE.name
    shifted.write_text(text, "utf-8")
    return shifted


def history_of_demo(
    container: Container, *, since: datetime, now: datetime, region_file: Path = REGION_FILE
) -> None:
    """The past lessons of the demo timetable, lived by the automation on a fleet of
    simulators of their own, under a virtual clock (vks.demo.history)."""
    from vks.bootstrap import report_store

    if container.engine is None:
        return
    if (missing := missing_simulators()) is not None:
        print(f"vks demo: no history: the simulators need the `sim` extra ({missing})", flush=True)
        return
    from vks.automation.clock import SteppedClock
    from vks.demo.history import PAST_CONFIG, live_history
    from vks.demo.past_fleet import PastFleet, past_automation

    rcc = Principal("demo", Role.RCC_OPERATOR, "kuzbass", "kuzbass")

    def person(org_id: str, role: Role) -> Principal:
        org = inventory.get_organisation(container.uow_factory(), rcc, org_id)
        return Principal(f"demo-{role}-{org_id}", role, org.id, org.path)

    started = time.monotonic()
    cpu = time.process_time()
    with PastFleet(region_file) as fleet:
        automation = past_automation(container.engine, fleet, PAST_CONFIG, SteppedClock(since))
        outcome = live_history(
            container.uow_factory, automation, fleet, report_store(container.engine),
            now=now, since=since, person=person,
        )  # fmt: skip
    print(
        f"vks demo: the last {(now - since).days} days of the demo timetable lived by the"
        f" automation on simulators under a virtual clock in {time.monotonic() - started:.1f} s"
        f" ({time.process_time() - cpu:.1f} s CPU): {outcome.summary()}"
        " (VKS_DEMO_HISTORY_DAYS=0: none)",
        flush=True,
    )


def load_demo(container: Container, region_file: Path = REGION_FILE) -> list[str]:
    """Import the region (must succeed) and the demo timetable (best effort: out of the
    academic year it has no dates left). Returns warnings to print."""
    now = container.clock.now()
    report = import_files([region_file], container.uow_factory, now=now, policy=container.policy)
    warnings = []
    days = container.settings.demo_history_days
    imported_at = now - timedelta(days=days)  # as imported then, so the past has lessons
    try:
        import_files(
            [TIMETABLE_FILE], container.uow_factory, now=imported_at, policy=container.policy
        )
    except ImportFailed as failed:
        warnings.append(
            "the demo timetable was not loaded: "
            + "; ".join(str(e) for e in failed.report.errors[:3])
        )
    if days > 0:
        history_of_demo(container, since=imported_at, now=now, region_file=region_file)
    rcc = Principal("demo", Role.RCC_OPERATOR, "kuzbass", "kuzbass")
    create_demo_users(container.uow_factory, rcc, container.passwords)
    print(f"vks demo: loaded {REGION_FILE.name}: {report.summary()}", flush=True)
    print_scheduler_token(container)
    print(f"vks demo: {clock_note(now)}", flush=True)
    return warnings


SIM_EXTRA_MISSING = (
    "vks demo: the simulated devices need the `sim` extra (cannot import {missing}):"
    " install vks[sim] (pip install 'vks[sim]', or `make demo`), or pass --no-simulators"
)


def missing_simulators() -> str | None:
    """What is missing to run the simulated devices, or None. A production install
    (`pip install .`) has the `simulators` package but not its extra."""
    try:
        from simulators.extra import missing_module
    except ImportError as exc:
        return exc.name or "simulators"
    return missing_module()


def start_simulators(settings: Settings, region_file: Path = REGION_FILE) -> Stop | None:
    """The region's devices on their loopback ports (as `vks-sim fleet` would)."""
    from simulators.fleet import FleetError, from_region, load_region
    from simulators.hosting import SimHost

    try:
        fleet = from_region(load_region(region_file), answer_delay_s=1.0)
        host = SimHost(control_port=settings.demo_sim_port)
        fleet.start_on(host)
        host.start()
    except (FleetError, OSError, RuntimeError) as exc:
        print(
            f"vks demo: simulators not started ({exc}); run `vks-sim fleet {REGION_FILE}`"
            " yourself, or pass --no-simulators",
            flush=True,
        )
        return None
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(fleet.counts().items()))
    print(
        f"vks demo: simulated devices: {counts}; fault control at {settings.demo_sim_control}",
        flush=True,
    )
    return host.stop


def print_logins(base_url: str) -> None:
    from vks.demo.users import DEMO_USERS

    print(f"vks demo: the web interface is at {base_url}/ (Russian; English in the top bar)")
    print(
        f"vks demo: log in there, or with POST {base_url}/api/v1/auth/login —"
        f" password {PASSWORD!r}:"
    )
    for user in DEMO_USERS:
        print(f"    {user.username:<10} {user.role:<22} {user.org_id:<14} {user.full_name}")
    print(f"vks demo: API docs at {base_url}/docs", flush=True)


def run_demo(
    settings: Settings, *, host: str | None, port: int | None, simulators: bool = True
) -> int:
    import uvicorn

    from vks.api.app import create_app

    if simulators and (missing := missing_simulators()) is not None:
        print(SIM_EXTRA_MISSING.format(missing=missing), flush=True)
        return 2
    if simulators and (port or settings.port) == settings.demo_sim_port:
        print(
            f"vks demo: port {settings.demo_sim_port} is the simulators' fault control"
            " (VKS_DEMO_SIM_PORT): choose another --port",
            flush=True,
        )
        return 2
    url = fresh_database(settings.data_dir)
    settings = settings.model_copy(update={"database_url": url})
    container = build_container(settings, migrate=True)
    region_file = demo_region_file(settings)
    stops: list[Stop] = []
    try:
        for warning in load_demo(container, region_file):
            print(f"vks demo: warning: {warning}", flush=True)
        if simulators:
            stop = start_simulators(settings, region_file)
            if stop is not None:
                stops.append(stop)
        for extension in EXTENSIONS:
            stop = extension(container)
            if stop is not None:
                stops.append(stop)
        host = host or settings.host
        port = port or settings.port
        print_logins(f"http://{host}:{port}")
        # No access log: the simulated devices are served in this process too, and uvicorn's
        # access logger is process-wide — their health polls would drown the demo's story.
        uvicorn.run(
            create_app(container=container),
            host=host,
            port=port,
            log_level="info",
            access_log=False,
        )
    finally:
        for stop in reversed(stops):
            with contextlib.suppress(Exception):
                stop()
        container.close()
    return 0
