"""What `vks demo` adds for the automation: lessons a few minutes apart that start and
end by themselves, with a fault injected in one terminal.

With the demo region's simulators on loopback:
1. «Физика»: СОШ №20 and СОШ №12 on BigBlueButton — starts and ends on its own;
2. «Информатика»: СОШ №5 (Новокузнецк) and СОШ №33 on Jitsi — the main codec of СОШ №5 is
   taken offline, so the pre-flight switches the lesson to the school's second terminal;
3. «Химия»: СОШ №41 and СОШ №92 — the only codec of СОШ №41 is offline: the lesson is
   flagged at risk, and starts degraded with СОШ №92 alone.

Lead times are shortened so the whole story fits in ten minutes (pre-flight 90 s before,
start 30 s before). Every transition is printed as it happens and is visible through
`GET /api/v1/occurrences/{id}/lifecycle`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from booking.access import Principal, Role
from booking.bookings import Participant, SessionKind
from booking.errors import DomainError
from booking.lifecycle import Timing
from booking.resources import PlatformKind
from booking.services.bookings import BookingRequest, create_booking
from vks.automation.config import AutomationConfig
from vks.jobs.assembly import attach_automation, running_automation

RCC = Principal("demo", Role.RCC_OPERATOR, "kuzbass", "kuzbass")


@dataclass(frozen=True)
class DemoLesson:
    title: str
    in_minutes: float
    minutes: float
    platform: PlatformKind
    participants: tuple[Participant, ...]
    offline: str | None = None  # a terminal the demo takes offline before the pre-flight
    story: str = ""


LESSONS = (
    DemoLesson(
        "Физика, 8 класс: законы Ньютона",
        2.0,
        3.0,
        PlatformKind.BBB,
        (
            Participant("kem-school-20", "term-kem-20", "teacher", "8А"),
            Participant("kem-school-12", "term-kem-12", "board", "8Б"),
        ),
        story="starts and ends by itself",
    ),
    DemoLesson(
        "Информатика, 9 класс: алгоритмы",
        4.0,
        3.0,
        PlatformKind.JITSI,
        (
            Participant("nvk-school-5", "term-nvk-5", "teacher", "9А"),
            Participant("kem-school-33", "term-kem-33", "board", "9В"),
        ),
        offline="term-nvk-5",
        story="term-nvk-5 goes offline: the pre-flight switches to term-nvk-5-b",
    ),
    DemoLesson(
        "Химия, 10 класс: периодический закон",
        6.0,
        3.0,
        PlatformKind.BBB,
        (
            Participant("kem-school-41", "term-kem-41", "teacher", "10А"),
            Participant("kem-school-92", "term-kem-92", "class", "10Б"),
        ),
        offline="term-kem-41",
        story="term-kem-41 goes offline, no backup: at risk, then degraded",
    ),
)


def demo_config() -> AutomationConfig:
    return AutomationConfig(
        timing=Timing(
            preflight_lead=timedelta(seconds=90),
            start_lead=timedelta(seconds=30),
            grace=timedelta(minutes=1),
            retry_first=timedelta(seconds=5),
            retry_max=timedelta(seconds=20),
            preflight_min_ahead=timedelta(seconds=10),
        ),
        reconcile_every=timedelta(seconds=15),
        late_tolerance=timedelta(seconds=10),
    )


def _say(message: str) -> None:
    print(f"vks demo: {message}", flush=True)


def book_lessons(uow_factory: Callable[[], object], now: datetime) -> dict[str, DemoLesson]:
    booked: dict[str, DemoLesson] = {}
    for lesson in LESSONS:
        start = now + timedelta(minutes=lesson.in_minutes)
        request = BookingRequest(
            title=lesson.title,
            kind=SessionKind.FULL_BROADCAST,
            host_school_id=lesson.participants[0].school_id,
            teacher="Демонстрационный педагог",
            participants=list(lesson.participants),
            platform=lesson.platform,
            setup_minutes=1,
            expected_participants=30,
            start=start,
            end=start + timedelta(minutes=lesson.minutes),
        )
        try:
            result = create_booking(uow_factory(), RCC, request, now=now)  # type: ignore[arg-type]
        except DomainError as exc:
            _say(f"demo lesson «{lesson.title}» not booked: {exc.message}")
            continue
        occurrence = result.occurrences[0]
        booked[occurrence.id] = lesson
        local = start.astimezone().strftime("%H:%M:%S")
        _say(f"{local} «{lesson.title}» — {lesson.story} (occurrence {occurrence.id})")
    return booked


def inject_faults(lessons: dict[str, DemoLesson], control: str) -> None:
    """Take the lessons' `offline` terminals offline at the simulators' fault control."""
    for lesson in lessons.values():
        if lesson.offline is None:
            continue
        try:
            httpx.put(f"{control}/{lesson.offline}/faults", json={"offline": True}, timeout=5)
        except httpx.HTTPError as exc:
            _say(f"could not take {lesson.offline} offline ({exc}); is the simulator running?")
            continue
        _say(f"fault injected: {lesson.offline} is offline")


def extension(container: object) -> Callable[[], None]:
    """The `vks demo` extension: start the automation, book the demo lessons, narrate."""
    stop_automation = attach_automation(container, demo_config())  # type: ignore[arg-type]
    running = running_automation(container.listeners)  # type: ignore[attr-defined]
    assert running is not None
    lessons = book_lessons(container.uow_factory, datetime.now(UTC))  # type: ignore[attr-defined]
    inject_faults(lessons, container.settings.demo_sim_control)  # type: ignore[attr-defined]
    running.occurrences_changed(list(lessons))
    stopping = threading.Event()
    titles = {occurrence: lesson.title for occurrence, lesson in lessons.items()}

    # the past lived at start-up (vks.demo.history) has its events too: tell only the new
    past = running.automation.store.events(limit=1)
    since_id = past[0].id if past else 0

    def narrate() -> None:
        seen = since_id
        while not stopping.wait(1.0):
            try:
                events = running.automation.store.events(limit=200)
            except Exception:  # the narration must never stop the demo
                continue
            for event in events:
                if event.id <= seen:
                    continue
                seen = event.id
                data = event.payload
                title = titles.get(event.occurrence_id or "", event.occurrence_id or "")
                if event.type.endswith("state_changed"):
                    why = f" — {data['reason']}" if data.get("reason") else ""
                    _say(f"«{title}»: {data['from']} → {data['to']} ({data['cause']}){why}")
                else:
                    _say(f"«{title}»: {event.type} {data}")

    narrator = threading.Thread(target=narrate, name="vks-demo-narrator", daemon=True)
    narrator.start()

    def stop() -> None:
        stopping.set()
        narrator.join(5)
        stop_automation()

    return stop
