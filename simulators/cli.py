"""`vks-sim`: run simulated devices as real servers on loopback ports.

    vks-sim camera   --port 8080 --user admin --password secret
    vks-sim terminal --port 8081 --user admin --password secret [--vendor poly_rest]
    vks-sim bbb      --port 8090 --secret SECRET
    vks-sim jitsi    --port 5280 --secret SECRET
    vks-sim fleet    REGION_FILE [--port-offset N]
    vks-sim fleet    --generate 10000 [--port-base 20000]

Every command takes `--control-port` (the /_sim/ control API on a port of its own, up even
when devices are offline) and the fault flags, applied to every device it starts.
Prints one line per start ("vks-sim: … listening on …") and runs until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import sys
from collections.abc import Callable, Sequence
from typing import Any

from simulators.faults import Faults
from simulators.fleet import Fleet, FleetError, from_region, generate, load_region
from simulators.hosting import SimDevice, SimHost

PROG = "vks-sim"


def _fault_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("faults (applied to every device started)")
    group.add_argument("--offline", action="store_true", help="refuse connections")
    group.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="MS", help="added to every answer (median)"
    )
    group.add_argument(
        "--latency-jitter-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="uniform spread around the latency",
    )
    group.add_argument(
        "--flapping-period",
        type=float,
        default=0.0,
        metavar="S",
        help="alternate reachable/unreachable every S seconds",
    )
    group.add_argument(
        "--auth-failure", action="store_true", help="refuse every authenticated request"
    )
    group.add_argument(
        "--error-rate",
        type=_fraction,
        default=0.0,
        metavar="P",
        help="share of requests answered with a server error (0..1)",
    )
    group.add_argument(
        "--at-capacity", action="store_true", help="servers refuse new rooms and participants"
    )
    group.add_argument(
        "--clock-skew",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds added to the device clock",
    )
    group.add_argument(
        "--drop-call-after",
        type=float,
        default=0.0,
        metavar="S",
        help="terminals drop an established call after S seconds",
    )


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _common(parser: argparse.ArgumentParser, port: int | None) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    if port is not None:
        parser.add_argument(
            "--port", type=int, default=port, help=f"listening port (default {port})"
        )
        parser.add_argument("--id", default=None, help="device id shown in /_sim/devices")
    parser.add_argument(
        "--control-port",
        type=int,
        default=None,
        metavar="PORT",
        help="also serve the /_sim/ control API on this port",
    )
    _fault_flags(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Protocol-faithful simulators of VKS equipment on loopback ports."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    camera = sub.add_parser("camera", help="an ONVIF PTZ camera")
    _common(camera, 8080)
    camera.add_argument("--user", default="admin")
    camera.add_argument("--password", default="secret")
    camera.add_argument(
        "--presets", default="teacher,board,class", help="comma-separated preset names"
    )

    terminal = sub.add_parser("terminal", help="a VKS room terminal (Cisco xAPI or Poly REST)")
    _common(terminal, 8081)
    terminal.add_argument("--user", default="admin")
    terminal.add_argument("--password", default="secret")
    terminal.add_argument("--vendor", choices=("cisco_xapi", "poly_rest"), default="cisco_xapi")
    terminal.add_argument("--sip-address", default=None, help="e.g. sip:term-kem-20@vks.example.ru")
    terminal.add_argument("--name", default="", help="system name")
    terminal.add_argument(
        "--answer-delay",
        type=float,
        default=1.5,
        metavar="S",
        help="seconds from Dial to Connected",
    )
    terminal.add_argument(
        "--feedback-url", default=None, help="POST call-state changes here (xAPI HttpFeedback)"
    )

    bbb = sub.add_parser("bbb", help="a BigBlueButton server (with its SIP video gateway)")
    _common(bbb, 8090)
    bbb.add_argument("--secret", required=True, help="the shared secret (securitySalt)")
    bbb.add_argument("--max-meetings", type=int, default=None)
    bbb.add_argument("--max-participants", type=int, default=None)
    bbb.add_argument("--gateway-ports", type=int, default=60)
    bbb.add_argument(
        "--expire-minutes",
        type=float,
        default=5.0,
        help="meetings nobody joined expire after this (default 5)",
    )

    jitsi = sub.add_parser("jitsi", help="a Jitsi Meet deployment (prosody HTTP side)")
    _common(jitsi, 5280)
    jitsi.add_argument("--secret", required=True, help="the JWT app secret")
    jitsi.add_argument("--app-id", default="vks", help="accepted token issuer (default vks)")
    jitsi.add_argument("--domain", default=None, help="XMPP domain (default: accept any)")
    jitsi.add_argument("--max-rooms", type=int, default=None)
    jitsi.add_argument("--max-participants", type=int, default=None)
    jitsi.add_argument("--gateway-ports", type=int, default=60)

    fleet = sub.add_parser("fleet", help="every device of a region file, or N generated ones")
    _common(fleet, None)
    fleet.add_argument("region_file", nargs="?", default=None, metavar="REGION_FILE")
    fleet.add_argument(
        "--generate",
        type=int,
        default=None,
        metavar="N",
        help="generate N devices on consecutive ports instead",
    )
    fleet.add_argument(
        "--port-base",
        type=int,
        default=20000,
        help="first port of a generated fleet (default 20000)",
    )
    fleet.add_argument("--port-offset", type=int, default=0, help="added to every device port")
    fleet.add_argument(
        "--answer-delay",
        type=float,
        default=1.5,
        metavar="S",
        help="terminals: seconds from Dial to Connected",
    )
    return parser


def faults_factory(args: argparse.Namespace) -> Callable[[], Faults]:
    def make() -> Faults:
        return Faults(
            offline=args.offline,
            latency_ms=args.latency_ms,
            latency_jitter_ms=args.latency_jitter_ms,
            flapping_period_s=args.flapping_period,
            auth_failure=args.auth_failure,
            error_rate=args.error_rate,
            at_capacity=args.at_capacity,
            clock_skew_s=args.clock_skew,
            drop_call_after_s=args.drop_call_after,
        )

    return make


def single_device(args: argparse.Namespace) -> SimDevice:
    faults = faults_factory(args)()
    if args.command == "camera":
        from simulators.onvif import OnvifCamera

        presets = [p.strip() for p in args.presets.split(",") if p.strip()]
        camera: Any = OnvifCamera(
            args.id or "camera", args.user, args.password, presets=presets, faults=faults
        )
        return camera
    if args.command == "terminal":
        from simulators.terminal import Terminal

        return Terminal(
            args.id or "terminal",
            args.user,
            args.password,
            vendor=args.vendor,
            name=args.name,
            sip_address=args.sip_address,
            answer_delay_s=args.answer_delay,
            feedback_url=args.feedback_url,
            faults=faults,
        )
    if args.command == "bbb":
        from simulators.bbb import BbbServer

        return BbbServer(
            args.id or "bbb",
            args.secret,
            max_meetings=args.max_meetings,
            max_participants=args.max_participants,
            gateway_ports=args.gateway_ports,
            expire_no_user_s=args.expire_minutes * 60,
            faults=faults,
        )
    from simulators.jitsi import JitsiServer

    return JitsiServer(
        args.id or "jitsi",
        args.secret,
        app_id=args.app_id,
        domain=args.domain,
        max_rooms=args.max_rooms,
        max_participants=args.max_participants,
        gateway_ports=args.gateway_ports,
        faults=faults,
    )


def build_fleet(args: argparse.Namespace) -> Fleet:
    if (args.region_file is None) == (args.generate is None):
        raise FleetError("give either a REGION_FILE or --generate N")
    if args.generate is not None:
        return generate(
            args.generate,
            port_base=args.port_base,
            port_offset=args.port_offset,
            faults=faults_factory(args),
            answer_delay_s=args.answer_delay,
        )
    return from_region(
        load_region(args.region_file),
        port_offset=args.port_offset,
        faults=faults_factory(args),
        answer_delay_s=args.answer_delay,
    )


def _fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _port_message(exc: OSError, what: str) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"{what}: address already in use"
    if exc.errno == errno.EACCES:
        return f"{what}: permission denied"
    return f"{what}: {exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    host = SimHost(bind_host=args.host, control_port=args.control_port)
    try:
        if args.command == "fleet":
            fleet = build_fleet(args)
            for warning in fleet.warnings:
                print(f"{PROG}: warning: {warning}", file=sys.stderr)
            fleet.start_on(host)
            counts = ", ".join(f"{n} {kind}" for kind, n in sorted(fleet.counts().items()))
            ports = [p.port for p in fleet.plans]
            banner = (
                f"{PROG}: fleet of {len(fleet.plans)} devices ({counts}) listening on "
                f"{args.host} ports {min(ports)}..{max(ports)}"
            )
        else:
            device = single_device(args)
            port = host.add(device, args.port)
            banner = f"{PROG}: {device.kind} {device.id!r} listening on http://{args.host}:{port}"
    except FleetError as exc:
        return _fail(str(exc), 2)
    except ValueError as exc:
        return _fail(str(exc), 2)
    except OSError as exc:
        where = getattr(args, "port", None)
        return _fail(
            _port_message(exc, f"cannot listen on {args.host}:{where}")
            if where is not None
            else str(exc.strerror or exc)
        )
    try:
        return _run(host, banner, args.control_port)
    except OSError as exc:
        return _fail(_port_message(exc, f"cannot listen on control port {args.control_port}"))


def _run(host: SimHost, banner: str, control_port: int | None) -> int:
    # Device sockets are already bound and listening: clients can connect from now on.
    if control_port:
        banner += f"; control API http://{host.bind_host}:{control_port}/_sim/devices"
    else:
        banner += "; control API under /_sim/ on every device port"
    print(banner, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        _runner()(host.serve())
    return 0


def _runner() -> Callable[[Any], Any]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run

    def run(coro: Any) -> Any:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)

    return run


if __name__ == "__main__":
    sys.exit(main())
