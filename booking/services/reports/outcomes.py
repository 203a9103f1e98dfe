"""Lesson outcomes, stored per occurrence: computed at report time for the lessons of a
month that have none stored yet.

Why at report time rather than on the automation's `state_changed` fact: the automation
writes its transitions through its own store, outside the units of work whose events the
bus carries, from several processes (RQ workers, the embedded runner); a subscriber there
would have to run in every one of them. Computing lazily needs no wiring, is idempotent
(a final outcome is stored once and then only read), and costs one pass over the month's
unfinished lessons — a report of a past month reads stored rows only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from booking.automation_store import TransitionRecord
from booking.bookings import Booking, Occurrence, ParticipantState
from booking.lifecycle import online_window
from booking.outcomes import Cancellation, LessonFacts, Outcome, OutcomeKind, Rules, derive
from booking.reports_store import PLANNED, LessonRow, ReportStore, SchoolLessonRow
from booking.repository import UnitOfWork
from booking.services.reports.months import month_of, utc_span

LONGEST = timedelta(days=1)  # an occurrence's longest span where the storage does not track it
FEW = 500  # up to this many unsettled lessons are loaded one by one, more by a month's scan


class History(Protocol):
    """The automation's record of an occurrence's transitions (its `TransitionStore`) and
    of the people seen in its room by the web link (`RoomStore.link_peaks`)."""

    def history(self, occurrence_id: str) -> list[TransitionRecord]: ...

    def link_peaks(self, occurrence_ids: Iterable[str]) -> dict[str, int]: ...


def refresh_outcomes(
    uow: UnitOfWork,
    history: History,
    store: ReportStore,
    month: str,
    *,
    now: datetime,
    rules: Rules = Rules(),
) -> int:
    """Derive and store the outcomes of the month's lessons that have no final one stored
    yet (region-wide: an outcome is a fact, whoever asks first). Returns how many rows
    were written. What was settled is remembered (`settled_until`): the next look reads
    only the lessons since, so a month already reported costs one small query."""
    start, end = utc_span(month)
    settled = store.settled_until(month)
    if settled is not None:  # only lessons that may have ended since
        with uow:
            longest = uow.occurrences.longest_span() or LONGEST
        start = max(start, settled - longest)
    ids = store.unsettled(start, end, now) if start < end else []
    until = now - rules.settle_after
    until = max(settled, until) if settled is not None else until
    if not ids:
        if settled is None or until > settled:
            store.settle(month, until)
        return 0
    with uow:
        if len(ids) <= FEW:
            found = (uow.occurrences.get(i) for i in ids)
            todo = [o for o in found if o is not None]
        else:
            wanted = set(ids)
            todo = [o for o in uow.occurrences.visible(start, end, limit=10**9) if o.id in wanted]
        bookings = uow.bookings.get_many({o.booking_id for o in todo})
        terminal_ids = {t for o in todo for t in o.terminal_ids}
        terminal_ids |= {t for b in bookings.values() for t in b.terminal_ids}
        terminals = uow.terminals.get_many(terminal_ids)
        school_ids = {t.site_id for t in terminals.values()}
        school_ids |= {p.school_id for b in bookings.values() for p in b.participants}
        school_ids |= {b.host_school_id for b in bookings.values()}
        orgs = uow.organisations.get_many(school_ids)
    site_of = {t.id: t.site_id for t in terminals.values()}
    path_of = {o.id: o.path for o in orgs.values()}
    cancellations = store.cancellations(o.id for o in todo)
    by_link = history.link_peaks(o.id for o in todo)
    rows = []
    for occurrence in todo:
        booking = bookings.get(occurrence.booking_id)
        if booking is None:
            continue
        row = lesson_row(
            occurrence,
            booking,
            site_of,
            path_of,
            history.history(occurrence.id),
            cancellations.get(occurrence.id),
            rules,
            now,
            joined_by_link=by_link.get(occurrence.id, 0),
        )
        if row is not None:
            rows.append(row)
    store.save_lessons(rows)
    store.settle(month, until)
    return len(rows)


def lesson_row(
    occurrence: Occurrence,
    booking: Booking,
    site_of: dict[str, str],
    path_of: dict[str, str],
    transitions: Sequence[TransitionRecord],
    cancellation: Cancellation | None,
    rules: Rules = Rules(),
    now: datetime | None = None,
    *,
    joined_by_link: int = 0,
) -> LessonRow | None:
    """The stored form of one occurrence's outcome (None: a session without a live link —
    a recording, an LMS lesson — is no lesson of the reports). `joined_by_link`, the most
    people seen in the room by its web link at once, goes on the host school's row: the
    link is the lesson's, not a class's, and counted once."""
    online = online_window(
        booking.kind,
        occurrence.start,
        occurrence.end,
        booking.broadcast_offset_minutes,
        booking.broadcast_minutes,
    )
    if online is None:
        return None
    school_of_terminal = {t: site_of[t] for t in occurrence.terminal_ids if t in site_of}
    schools = _schools(booking, school_of_terminal.values())
    facts = LessonFacts(
        occurrence.id,
        online[0],
        online[1],
        occurrence.state,
        occurrence.state_reason,
        occurrence.cancelled,
        occurrence.moved_from,
        school_of_terminal,
        schools,
    )
    outcome = derive(facts, transitions, cancellation, rules, now)
    month = month_of(occurrence.local_date)
    online_s = int((online[1] - online[0]).total_seconds())
    return LessonRow(
        occurrence_id=occurrence.id,
        booking_id=booking.id,
        month=month,
        start=occurrence.start,
        title=booking.title,
        subject=booking.subject,
        teacher=occurrence.teacher or booking.teacher,
        host_school_id=booking.host_school_id,
        kind=outcome.kind if outcome is not None else PLANNED,
        cause=outcome.cause if outcome is not None else "",
        reason=outcome.reason if outcome is not None else "",
        late_s=outcome.late_s if outcome is not None else 0,
        online_s=online_s,
        cancelled_by=outcome.cancelled_by if outcome is not None else "",
        cancel_lead_s=outcome.cancel_lead_s if outcome is not None else None,
        moved_from=occurrence.moved_from,
        schools=tuple(
            _dated(
                _school_row(occurrence.id, school, path_of.get(school, ""), month, outcome, rules),
                occurrence,
                online_s,
                joined_by_link if school == booking.host_school_id else 0,
            )
            for school in schools
        ),
    )


def _dated(
    row: SchoolLessonRow, occurrence: Occurrence, online_s: int, joined_by_link: int
) -> SchoolLessonRow:
    return replace(
        row,
        day=occurrence.local_date,
        online_s=online_s,
        moved=occurrence.moved_from is not None,
        present_s=min(row.present_s, online_s),  # an end a little late is not more presence
        joined_by_link=joined_by_link,
    )


def _schools(booking: Booking, with_terminals: Iterable[str]) -> list[str]:
    out = [booking.host_school_id]
    for participant in booking.participants:
        if participant.state != ParticipantState.DECLINED and participant.school_id not in out:
            out.append(participant.school_id)
    out.extend(s for s in with_terminals if s not in out)
    return out


def _school_row(
    occurrence_id: str,
    school: str,
    path: str,
    month: str,
    outcome: Outcome | None,
    rules: Rules,
) -> SchoolLessonRow:
    if outcome is None:
        return SchoolLessonRow(occurrence_id, school, path, month, PLANNED)
    kind = outcome.kind
    missing = outcome.missing.get(school, 0)
    if kind is OutcomeKind.PARTIAL and not missing:
        late = outcome.late_s > rules.late_after.total_seconds()
        kind = OutcomeKind.LATE if late else OutcomeKind.ON_TIME
    return SchoolLessonRow(
        occurrence_id,
        school,
        path,
        month,
        kind,
        cause=outcome.cause,
        late_s=outcome.late_s,
        missing_s=missing,
        present_s=outcome.present_s.get(school, 0),
    )
