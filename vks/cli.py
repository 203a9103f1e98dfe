"""The `vks` command: serve the API, upgrade the database, import a region or a timetable,
create tokens and users, run the demo.

    vks serve [--host H] [--port P]
    vks db upgrade
    vks import FILE [FILE …] [--dry-run]       region YAML and/or CSV timetables
    vks token create --role ROLE [--org ID] [--name N] [--days D]
    vks token revoke JTI                        (`create` prints each token's jti)
    vks user create --username U --role ROLE --org ID [--full-name F] [--password-env VAR]
    vks demo [--host H] [--port P] [--no-simulators]
    vks worker                                  automation worker (needs VKS_REDIS_URL)
    vks monitor [--host H] [--port P]           health monitor (several split the devices)
    vks check [--json]                          secrets, devices, database schema, Redis

Exit codes: 0 done, 1 the service could not do it (database unreachable…), 2 bad input
(with the reason, row by row for imports). Never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import logging
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from adapters.storage.engine import UnsupportedDatabase, check_database_url
from booking.access import Principal, Role
from booking.errors import DomainError, NotFound
from booking.services import inventory, sessions, users
from booking.services.region import find_region
from booking.tokens import SERVICE_PREFIX
from booking.users import User
from vks.auth.issuing import issue_recorded
from vks.auth.passwords import weak_reason
from vks.auth.tokens import Scope
from vks.bootstrap import Container, build_container, open_engine
from vks.importing.loader import import_files
from vks.importing.report import ImportFailed, ImportReport, SourceError
from vks.schema_check import SchemaOutdated
from vks.secrets import SecretMissing
from vks.settings import Settings

PROG = "vks"
OK, FAILED, BAD_INPUT = 0, 1, 2

log = logging.getLogger(__name__)


class BadInput(Exception):
    """The user asked for something that cannot be done as asked (exit code 2)."""


class ServiceDown(Exception):
    """Something the command needs does not answer (exit code 1)."""


# --- the parser -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="VKS: books, starts and watches the RCC's videoconferencing equipment.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", help="listen address (default: VKS_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default: VKS_PORT, 8000)")

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="create or upgrade the schema to the latest revision")

    imp = sub.add_parser(
        "import", help="import a region file (YAML) and/or CSV timetables, all or nothing"
    )
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")

    token = sub.add_parser("token", help="bearer tokens for service accounts")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser("create", help="print a new token")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--org", help="organisation the token acts in (default: the region)")
    create.add_argument("--name", help="service account name (default: the role)")
    create.add_argument("--days", type=int, default=365, help="validity in days (default 365)")
    create.add_argument("--feed", action="store_true", help="a read-only token for calendar feeds")
    revoke = token_sub.add_parser("revoke", help="revoke a token (it gets 401 from then on)")
    revoke.add_argument("jti", help="the token's id (printed by `create`)")

    user = sub.add_parser("user", help="users who log in with a password")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_sub.add_parser("create", help="create a user")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--org", required=True, help="the organisation the user acts in")
    add.add_argument("--full-name", default="")
    add.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the password from this environment variable (else stdin or a prompt)",
    )

    demo = sub.add_parser(
        "demo", help="load the demo region into a fresh database, start simulators, serve"
    )
    demo.add_argument("--host", help="listen address (default: VKS_HOST)")
    demo.add_argument("--port", type=int, help="listen port (default: VKS_PORT)")
    demo.add_argument(
        "--no-simulators", action="store_true", help="do not start the simulated devices"
    )

    sub.add_parser("worker", help="run an automation worker (needs VKS_REDIS_URL)")
    monitor = sub.add_parser(
        "monitor", help="poll the health of every terminal, camera and conference server"
    )
    monitor.add_argument("--host", help="listen address of /metrics (default: VKS_HOST)")
    monitor.add_argument(
        "--port", type=int, help="port of /metrics and push feedback (default: VKS_MONITOR_PORT)"
    )
    check = sub.add_parser(
        "check",
        help="check the configuration: every secret, device and server, the schema, Redis"
        " (exit 1 when something is wrong)",
    )
    check.add_argument("--json", action="store_true", help="a JSON report for scripts")
    return parser


# --- commands ---------------------------------------------------------------------------------
def cyclic_gc_paused() -> AbstractContextManager[None]:
    from adapters.storage.timetable_load import cyclic_gc_paused as paused

    return paused()


GC_YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython: 700)


def start_up_done() -> None:
    """What start-up loaded (modules, the app, its wiring) lives as long as the process:
    move it out of the cyclic garbage collector's full scans, which would otherwise walk
    those ~130,000 objects again and again and pause requests for milliseconds. And
    collect the young generation less often: a region's availability answer builds
    ~10,000 objects, ~15 young collections each time at CPython's default (dev run over
    HTTP: median 33-35 -> 26-29 ms, p99 62 -> 46-49 ms)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from vks.api.app import create_app
    from vks.schema_check import ensure_schema

    ensure_schema(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"{PROG}: serving the API on http://{host}:{port}/api/v1 (docs: /docs)", flush=True)
    app = create_app(settings)
    from vks.jobs.assembly import attach_automation  # lessons start themselves

    stop_automation = attach_automation(app.state.container)
    stop_monitor = None
    if not settings.redis_url:  # embedded mode: the health monitor runs in this process too
        from vks.monitor.wiring import attach_monitor

        stop_monitor = attach_monitor(app, app.state.container)
    start_up_done()
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=settings.access_log)
    finally:
        if stop_monitor is not None:
            stop_monitor()
        stop_automation()
    return OK


def _db_upgrade(settings: Settings) -> int:
    from adapters.storage.schema import upgrade

    upgrade(settings.effective_database_url)
    print(f"{PROG}: database is up to date ({_safe_url(settings)})")
    return OK


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


def print_report(report: ImportReport, *, out: Callable[[str], None]) -> None:
    for error in report.errors:
        out(f"  {error}")


def run_import(container: Container, files: Sequence[Path], *, dry_run: bool) -> ImportReport:
    """Import files through the container's database (the demo uses this too)."""
    return import_files(
        list(files),
        container.uow_factory,
        now=container.clock.now(),
        policy=container.policy,
        dry_run=dry_run,
        max_file_bytes=container.settings.max_import_bytes,
    )


def _container(settings: Settings) -> Container:
    """The composition root over a current schema (a SQLite file is upgraded on the spot)."""
    from vks.schema_check import ensure_schema

    ensure_schema(settings)
    return build_container(settings)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    container = _container(settings)
    try:
        try:
            with cyclic_gc_paused():  # a year's timetable is millions of new objects
                report = run_import(container, args.files, dry_run=args.dry_run)
        except ImportFailed as failed:
            errors = failed.report.errors
            _err(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} found; nothing imported:")
            print_report(failed.report, out=_err_line)
            return BAD_INPUT
        for warning in report.warnings:
            _err(f"warning: {warning}")
        verb = "would import" if args.dry_run else "imported"
        print(f"{PROG}: {verb} {report.source}: {report.summary()}")
        return OK
    finally:
        container.close()


def _rcc(container: Container) -> Principal:
    region = find_region(container.uow_factory())
    if region is None:
        raise BadInput("the database holds no region yet: run `vks import REGION_FILE` first")
    return Principal("cli", Role.RCC_OPERATOR, region.id, region.path)


def _token(args: argparse.Namespace, settings: Settings) -> int:
    if args.token_command == "revoke":
        return _revoke_token(args, settings)
    if args.days < 1:
        raise BadInput("--days must be at least 1")
    container = _container(settings)
    try:
        rcc = _rcc(container)
        org = inventory.get_organisation(container.uow_factory(), rcc, args.org or rcc.org_id)
        name = args.name or args.role
        principal = Principal(f"{SERVICE_PREFIX}{name}", Role(args.role), org.id, org.path)
        token = issue_recorded(
            container.tokens,
            container.uow_factory,
            principal,
            now=container.clock.now(),
            ttl=timedelta(days=args.days),
            scope=Scope.FEED if args.feed else Scope.API,
            name=name,
        )
        print(token.value)
        _err(
            f"token {token.jti} for {name} ({args.role} of {org.id}),"
            f" valid until {token.expires_at:%Y-%m-%d}; revoke: vks token revoke {token.jti}"
        )
        return OK
    finally:
        container.close()


def _revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    container = _container(settings)
    try:
        revoked = sessions.revoke_token(
            container.uow_factory(), _rcc(container), args.jti, container.clock.now()
        )
        _err(f"token {revoked.id} of {revoked.user_id} revoked")
        return OK
    finally:
        container.close()


def _read_password(args: argparse.Namespace) -> str:
    if args.password_env:
        if args.password_env not in os.environ:
            raise BadInput(f"environment variable {args.password_env} is not set")
        return os.environ[args.password_env]
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise BadInput("the passwords differ")
    return first


def _user(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args)
    reason = weak_reason(password)
    if reason:
        raise BadInput(reason)
    container = _container(settings)
    try:
        rcc = _rcc(container)
        user = User(
            id=uuid.uuid4().hex[:16],
            username=args.username,
            password_hash=container.passwords.hash(password),
            role=Role(args.role),
            org_id=args.org,
            full_name=args.full_name,
        )
        stored = users.add_user(container.uow_factory(), rcc, user)
        print(f"{PROG}: user {stored.username} ({stored.role} of {stored.org_id}) created")
        return OK
    finally:
        container.close()


def _worker(settings: Settings) -> int:
    if not settings.redis_url:
        raise BadInput("VKS_REDIS_URL is not set: without Redis, `vks serve` runs the jobs itself")
    from vks.jobs.assembly import automation_from_settings
    from vks.jobs.redis_queue import redis_client, shown_url, unreachable
    from vks.jobs.worker import ON_READY, run_worker

    # Redis down at start: say so and exit 1 — the supervisor (systemd, Docker) restarts
    # the worker with its back-off, and a wrong URL shows at once. Once running, RQ
    # itself waits for a Redis that went away, retrying with a back-off.
    reason = unreachable(redis_client(settings.redis_url, timeout_s=settings.redis_timeout_s))
    if reason is not None:
        raise ServiceDown(
            f"Redis at {shown_url(settings.redis_url)} does not answer ({reason}):"
            " the worker needs it; start Redis or correct VKS_REDIS_URL"
        )

    if settings.monitor_in_worker:  # the worker hosts a health monitor (they split devices)
        from vks.monitor.wiring import worker_monitor

        ON_READY.append(worker_monitor(settings))
    automation = automation_from_settings(settings)
    from vks.reports.delivery import start_delivery

    def deliver_reports() -> None:  # the monthly reports by e-mail (with an SMTP server)
        start_delivery(open_engine(settings), settings, automation.clock)

    ON_READY.append(deliver_reports)
    start_up_done()
    run_worker(settings.redis_url, automation)
    return OK


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command
    if command == "serve":
        return _serve(args, settings)
    if command == "db":
        return _db_upgrade(settings)
    if command == "import":
        return _import(args, settings)
    if command == "token":
        return _token(args, settings)
    if command == "user":
        return _user(args, settings)
    if command == "demo":
        from vks.demo.runner import run_demo

        return run_demo(settings, host=args.host, port=args.port, simulators=not args.no_simulators)
    if command == "worker":
        return _worker(settings)
    if command == "monitor":
        from vks.monitor.wiring import run_monitor
        from vks.schema_check import ensure_schema

        ensure_schema(settings)
        return run_monitor(settings, host=args.host, port=args.port)
    if command == "check":
        from vks.checking.command import run_check

        return run_check(settings, as_json=args.json)
    raise BadInput(f"unknown command {command}")


# --- errors, never tracebacks -------------------------------------------------------------------
def _err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _err_line(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()  # read afresh: the environment may differ from the last call
    except Exception as exc:  # pydantic's ValidationError: a bad VKS_* variable
        _err(f"bad configuration: {exc}")
        return BAD_INPUT
    try:
        check_database_url(settings.effective_database_url)  # every command, before any work
        return _dispatch(args, settings)
    except UnsupportedDatabase as exc:
        _err(f"VKS_DATABASE_URL: {exc}")
        return BAD_INPUT
    except BadInput as exc:
        _err(str(exc))
        return BAD_INPUT
    except ServiceDown as exc:
        _err(str(exc))
        return FAILED
    except RedisError as exc:  # Redis went away after the command checked it
        _err(f"Redis error: {str(exc).strip() or type(exc).__name__}")
        return FAILED
    except SourceError as exc:
        _err(str(exc))
        return BAD_INPUT
    except NotFound as exc:
        _err(exc.message)
        return BAD_INPUT
    except DomainError as exc:
        _err(exc.message)
        return BAD_INPUT if exc.code in ("invalid_input", "conflict", "forbidden") else FAILED
    except SchemaOutdated as exc:
        _err(str(exc))
        return FAILED
    except SecretMissing as exc:
        _err(str(exc))
        return BAD_INPUT
    except SQLAlchemyError as exc:
        reason = str(exc.__cause__ or exc).strip().splitlines()[0]
        _err(f"database error: {reason}")
        return FAILED
    except OSError as exc:
        _err(str(exc))
        return FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
