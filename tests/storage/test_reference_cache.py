"""Reference data kept per process is never stale: the database counts every change to
terminals, organisations, calendars, conference servers and the longest stored span,
whoever makes it, and a unit of work always sees its own changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text

from adapters.storage.engine import create_engine_for
from adapters.storage.unit_of_work import SqlUnitOfWork, sql_uow_factory
from booking.schoolyear import Closure
from booking.services.sessions import forget_ended_tokens, record_token
from booking.tokens import IssuedToken
from tests.storage.region import Region

UowFactory = Callable[[], SqlUnitOfWork]


def inventory(factory: UowFactory) -> list[str]:
    with factory() as uow:
        return [t.id for t in uow.terminals.in_subtree("kuzbass")]


def test_a_terminal_retired_by_another_process_leaves_the_inventory(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    before = inventory(uow_factory)
    other = create_engine_for(engine.url)  # another process: its own engine and pool
    try:
        with sql_uow_factory(other)() as uow:
            terminal = uow.terminals.get("term-kem20-1")
            assert terminal is not None
            uow.terminals.update(replace(terminal, active=False, version=terminal.version + 1))
            uow.commit()
    finally:
        other.dispose()

    after = inventory(uow_factory)

    assert "term-kem20-1" in before and "term-kem20-1" not in after
    assert set(after) == set(before) - {"term-kem20-1"}


def test_a_change_made_in_plain_sql_is_seen_too(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    inventory(uow_factory)  # kept now
    with engine.begin() as connection:
        connection.execute(text("UPDATE terminals SET active = false WHERE id = 'term-kem41-1'"))

    assert "term-kem41-1" not in inventory(uow_factory)


def retire(uow: SqlUnitOfWork, terminal_id: str) -> None:
    terminal = uow.terminals.get(terminal_id)
    assert terminal is not None
    uow.terminals.update(replace(terminal, active=False, version=terminal.version + 1))


def test_an_uncommitted_change_is_seen_by_its_unit_of_work_only_and_never_kept(
    uow_factory: UowFactory, region: Region
) -> None:
    inventory(uow_factory)
    with uow_factory() as uow:
        retire(uow, "term-kem20-1")
        inside = [t.id for t in uow.terminals.in_subtree("kuzbass")]
        # left without commit: rolled back, and the counter with it
    with uow_factory() as uow:  # another change takes the counter to the same value
        retire(uow, "term-kem41-1")
        uow.commit()

    after = inventory(uow_factory)

    assert "term-kem20-1" not in inside
    assert "term-kem20-1" in after and "term-kem41-1" not in after


QUARANTINE = Closure("cl-flu", "kemerovo", date(2026, 11, 16), date(2026, 11, 22), "Карантин")


def closures_in_november(factory: UowFactory) -> list[str]:
    with factory() as uow:
        found = uow.closures.for_orgs(
            ["kem-school-20", "kemerovo"], date(2026, 11, 1), date(2026, 11, 30)
        )
        return [c.id for c in found]


def test_a_closure_added_by_another_process_is_seen_by_the_next_booking(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    before = closures_in_november(uow_factory)  # kept now
    other = create_engine_for(engine.url)
    try:
        with sql_uow_factory(other)() as uow:
            uow.closures.add(QUARANTINE)
            uow.commit()
    finally:
        other.dispose()

    after = closures_in_november(uow_factory)

    assert before == [] and after == ["cl-flu"]


def test_calendars_servers_and_spans_changed_in_plain_sql_are_seen(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    with uow_factory() as uow:  # all kept now
        year_before = uow.academic_years.covering(date(2027, 6, 15))
        servers_before = [s.id for s in uow.servers.active()]
        bells = uow.bell_schedules.get("standard")
        span_before = uow.occurrences.longest_span()
    assert bells is not None and 1 in bells.lessons
    with engine.begin() as connection:
        connection.execute(text("UPDATE academic_years SET \"end\" = '2027-06-30'"))
        connection.execute(text("UPDATE conference_servers SET active = false WHERE id = 'bbb-1'"))
        connection.execute(text("UPDATE bell_schedules SET lessons = '{}' WHERE id = 'standard'"))
        connection.execute(text("UPDATE time_bounds SET max_seconds = 7200"))

    with uow_factory() as uow:
        year_after = uow.academic_years.covering(date(2027, 6, 15))
        servers_after = [s.id for s in uow.servers.active()]
        bells_after = uow.bell_schedules.get("standard")
        span_after = uow.occurrences.longest_span()

    assert year_before is None and year_after is not None
    assert servers_before == ["bbb-1", "jitsi-1"] and servers_after == ["jitsi-1"]
    assert bells_after is not None and bells_after.lessons == {}
    assert span_before != span_after == timedelta(hours=2)


def test_the_active_servers_are_built_once_per_version_of_their_table(
    uow_factory: UowFactory, region: Region
) -> None:
    """Every create that needs equipment reads the fleet's capacity: the same objects
    (shared, read only) while the table is unchanged; a server changed through `get` and
    `update` is seen in new ones."""
    with uow_factory() as uow:
        first = uow.servers.active()
    with uow_factory() as uow:
        again = uow.servers.active()
        server = uow.servers.get("bbb-1")
        assert server is not None
        uow.servers.update(replace(server, max_rooms=server.max_rooms + 1, version=2))
        uow.commit()
    with uow_factory() as uow:
        changed = uow.servers.active()

    assert all(a is b for a, b in zip(first, again, strict=True))
    assert [s.id for s in changed] == ["bbb-1", "jitsi-1"]
    assert changed[0] is not first[0] and changed[0].max_rooms == first[0].max_rooms + 1


def test_a_unit_of_work_sees_its_own_calendar_changes_before_it_commits(
    uow_factory: UowFactory, region: Region
) -> None:
    with uow_factory() as uow:
        uow.closures.add(QUARANTINE)
        uow.commit()
    closures_in_november(uow_factory)  # kept, with the quarantine

    with uow_factory() as uow:
        stored = uow.closures.get("cl-flu")
        assert stored is not None
        uow.closures.delete(stored)
        inside = uow.closures.for_orgs(["kemerovo"], date(2026, 11, 1), date(2026, 11, 30))
        # left without commit: rolled back

    assert inside == [] and closures_in_november(uow_factory) == ["cl-flu"]


def test_what_a_reader_changes_in_its_objects_never_reaches_the_kept_copy(
    uow_factory: UowFactory, region: Region
) -> None:
    with uow_factory() as uow:
        first = uow.organisations.get_many(["kem-school-20"])["kem-school-20"]
        first.name = "переименована читателем"
        first.contacts["phone"] = "000"

    with uow_factory() as uow:
        again = uow.organisations.get_many(["kem-school-20"])["kem-school-20"]

    assert again.name == "МБОУ «СОШ №20»" and again.contacts.get("phone") != "000"


def tokens_counter(engine: Engine) -> int:
    with engine.connect() as connection:
        query = text("SELECT value FROM change_counters WHERE name = 'tokens'")
        return int(connection.execute(query).scalar_one())


def test_a_sweep_with_no_ended_token_leaves_every_process_its_copy_of_the_tokens(
    uow_factory: UowFactory, region: Region, engine: Engine
) -> None:
    now = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
    feed = IssuedToken(id="j-feed", user_id="coord-kem-20", scope="feed", name="Outlook",
                       created_at=now, expires_at=now + timedelta(days=365))  # fmt: skip
    record_token(uow_factory(), feed)
    before = tokens_counter(engine)

    gone = forget_ended_tokens(uow_factory(), now, timedelta(days=90))

    assert gone == 0 and tokens_counter(engine) == before  # nothing written, nothing bumped
