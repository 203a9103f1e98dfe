"""The composition root: everything the entry points (API, CLI, later the jobs) need,
built once from the settings — the database engine and unit-of-work factory, the clock,
the booking policy, password hashing, tokens, the idempotency-key store, and the message
bus on which every unit of work publishes the domain events of what it committed — the
listeners told about booking changes (the automation subscribes there) are its handlers,
whichever entry point (API, sweep, CLI, import) made the change."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, cast

from sqlalchemy import Engine

from adapters.storage.engine import create_engine_for
from adapters.storage.schema import upgrade
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking import events
from booking.automation_store import TransitionStore
from booking.health_store import HealthStore
from booking.messagebus import MessageBus
from booking.reports_store import ReportStore
from booking.repository import UnitOfWork
from booking.services.policy import Policy
from booking.services.reports.cancellations import note_cancellations
from vks.api.idempotency import IdempotencyStore, UnitOfWorkKeys
from vks.auth.passwords import Passwords
from vks.auth.throttle import LoginThrottle
from vks.auth.tokens import Tokens
from vks.automation.clock import Clock, SystemClock
from vks.settings import Settings, get_settings

if TYPE_CHECKING:
    from booking.services.reports.monthly import Sources
    from vks.automation.config import AutomationConfig
    from vks.automation.service import Automation


class BookingListener(Protocol):
    """Told after bookings or single occurrences changed (created, edited, moved,
    cancelled); the automation re-plans them. Must not raise for unknown ids."""

    def bookings_changed(
        self, booking_ids: Iterable[str], *, span: tuple[datetime, datetime] | None = None
    ) -> object:
        """`span`: when the occurrences of a single new booking lie (first start, last
        end), if the event told it."""
        ...

    def occurrences_changed(self, occurrence_ids: Iterable[str]) -> object: ...


@dataclass
class Container:
    settings: Settings
    uow_factory: Callable[[], UnitOfWork]
    clock: Clock
    policy: Policy
    passwords: Passwords
    tokens: Tokens
    idempotency: IdempotencyStore | None = None
    engine: Engine | None = None
    owns_engine: bool = True
    listeners: list[BookingListener] = field(default_factory=list)
    reader_factory: Callable[[], UnitOfWork] | None = None  # units of work that only read
    login_throttle: LoginThrottle | None = None  # None: logins are not throttled
    bus: MessageBus = field(default_factory=MessageBus)

    def __post_init__(self) -> None:
        tell_listeners(self.bus, self.listeners)
        tell_people(self)

    def reading_uow(self) -> UnitOfWork:
        """A unit of work that will only read (on SQLite it takes no write lock)."""
        return (self.reader_factory or self.uow_factory)()

    def token_ttl(self) -> timedelta:
        return timedelta(minutes=self.settings.token_ttl_minutes)

    def close(self) -> None:
        if self.engine is not None and self.owns_engine:
            self.engine.dispose()


def tell_listeners(bus: MessageBus, listeners: list[BookingListener]) -> None:
    """Subscribe the listeners (the automation, once attached) to the bus's events."""

    def bookings(event: events.BookingEvent) -> None:
        span = event.span if isinstance(event, events.BookingCreated) else None
        for listener in list(listeners):
            listener.bookings_changed([event.booking_id], span=span)

    def imported(event: events.TimetableImported) -> None:
        for listener in list(listeners):
            listener.bookings_changed(list(event.booking_ids))

    def dates(event: events.OccurrencesChanged) -> None:
        for listener in list(listeners):
            listener.occurrences_changed(list(event.occurrence_ids))

    bus.subscribe(events.BookingEvent, bookings)
    bus.subscribe(events.TimetableImported, imported)
    bus.subscribe(events.OccurrencesChanged, dates)


def tell_people(container: Container) -> None:
    """Subscribe the notifications to every described event on the container's bus."""
    from booking.services.notifying import subscribe
    from vks.notifications.wiring import notify_config

    subscribe(
        container.bus,
        container.uow_factory,
        container.clock.now,
        notify_config(container.settings),
    )


def uow_factory_on(engine: Engine) -> Callable[[], UnitOfWork]:
    """Units of work on `engine` (processes that own theirs: the monitor)."""

    def make() -> UnitOfWork:
        return cast(UnitOfWork, SqlUnitOfWork(engine))

    return make


def automation_events(engine: Engine) -> TransitionStore:
    """The automation's outbox over `engine` (the notifications read its lesson facts)."""
    from adapters.storage.automation import SqlAutomationStore

    return SqlAutomationStore(engine)


def policy_from(settings: Settings) -> Policy:
    return Policy(
        max_range_days=settings.max_range_days,
        hold_ttl_minutes=settings.hold_ttl_minutes,
        default_setup_minutes=settings.default_setup_minutes,
    )


def build_container(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    migrate: bool = False,
) -> Container:
    """Everything over the database of `settings` (SQLite file by default), or over
    `engine` (then the caller keeps it: `close()` leaves it open). `migrate` brings the
    schema up to date first (the demo; production runs `vks db upgrade`)."""
    settings = settings or get_settings()
    owns_engine = engine is None
    if engine is None:
        engine = create_engine_for(settings.effective_database_url)
    if migrate:
        upgrade(engine)
    bound, bus = engine, MessageBus()
    note_cancellations(bus, report_store(engine))  # who cancelled a lesson, for the reports

    def make_uow() -> UnitOfWork:
        # SqlUnitOfWork declares its repositories with their concrete types, which mypy
        # (attributes are invariant) does not take for the Protocol's: see notes-api.md
        return cast(UnitOfWork, SqlUnitOfWork(bound, bus=bus))

    def make_reader() -> UnitOfWork:
        return cast(UnitOfWork, SqlUnitOfWork(bound, read_only=True, bus=bus))

    return Container(
        settings=settings,
        uow_factory=make_uow,
        clock=clock or SystemClock(),
        policy=policy_from(settings),
        passwords=Passwords(),
        tokens=Tokens(settings.secret_key, settings.previous_secret_keys),
        idempotency=UnitOfWorkKeys(make_uow),
        engine=engine,
        owns_engine=owns_engine,
        reader_factory=make_reader,
        bus=bus,
        login_throttle=LoginThrottle(
            settings.login_rate_per_user, settings.login_rate_per_address, settings.redis_url
        ),
    )


def hardware_automation(
    engine: Engine,
    config: AutomationConfig,
    *,
    clock: Clock | None = None,
    owner: str | None = None,
    timeout_s: float = 5.0,
    attempts: int = 2,
) -> Automation:
    """The automation over the SQL store on `engine` and the real device adapters, with
    the conference pool over the active servers stored there."""
    from adapters.storage.automation import SqlAutomationStore
    from vks.automation.service import build_hardware_automation

    with SqlUnitOfWork(engine, read_only=True) as uow:
        servers = list(uow.servers.active())
    return build_hardware_automation(
        SqlAutomationStore(engine),
        servers,
        config,
        clock=clock,
        owner=owner,
        timeout_s=timeout_s,
        attempts=attempts,
    )


def open_engine(settings: Settings) -> Engine:
    """An engine on the settings' database (processes that own theirs: the monitor)."""
    return create_engine_for(settings.effective_database_url)


def health_store(engine: Engine) -> HealthStore:
    """The monitor's storage over `engine` (the one place naming its SQL implementation)."""
    from adapters.storage.health import SqlHealthStore

    return SqlHealthStore(engine)


def report_store(engine: Engine) -> ReportStore:
    """The reports' storage over `engine` (the one place naming its SQL implementation)."""
    from adapters.storage.reports import SqlReportStore

    return SqlReportStore(engine)


def report_sources(container: Container) -> Sources:
    """What a report reads: the booking data, the automation's history of the lessons, the
    reports' store and the monitor's uptime — all in the container's database."""
    from adapters.storage.automation import SqlAutomationStore
    from adapters.storage.reports import SqlAvailability
    from booking.services.reports.monthly import Sources

    engine = container.engine
    if engine is None:
        raise RuntimeError("the reports need the service's database")
    return Sources(
        container.reading_uow(),
        SqlAutomationStore(engine),
        report_store(engine),
        SqlAvailability(engine),
    )
