"""The joint search: the lessons free for several schools at once (terminals free at every
site), on each date of a range or weekly over it, each in every school's local time and
own lesson number, within every school's day and study week.

Three queries whatever the size: the schools, the terminals of the sites, the busy rows of
all those terminals over the whole range."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from booking import joint
from booking.access import Action, Principal, authorize, visible
from booking.bells import BellSchedule, LessonSlot, day_lessons
from booking.errors import InvalidInput
from booking.joint import JointSlot, LocalLesson, SchoolBells
from booking.organisations import Organisation, OrgKind
from booking.repository import UnitOfWork
from booking.schoolyear import day_off
from booking.services.availability import check_range
from booking.services.lookups import Lookups
from booking.services.plans import check_aware
from booking.services.policy import Policy

__all__ = ["JointSlot", "LocalLesson", "joint_free_lessons"]

MAX_SITES = 20


def joint_free_lessons(
    uow: UnitOfWork,
    principal: Principal,
    site_ids: Sequence[str],
    *,
    start_date: date,
    end_date: date,
    weekdays: Sequence[int] = (),
    weekly: bool = False,
    now: datetime | None = None,
    setup_minutes: int | None = None,
    policy: Policy | None = None,
) -> list[JointSlot]:
    """The lessons of the first site (the host, by its bells on the study days of every
    site) free for every site and within every school's day; `weekdays` narrows the dates;
    `weekly` keeps a (weekday, lesson) only if free on every one of its dates."""
    policy = policy or Policy()
    setup = policy.default_setup_minutes if setup_minutes is None else setup_minutes
    if now is not None:
        check_aware(now, "now")
    ids = list(dict.fromkeys(site_ids))
    if not 2 <= len(ids) <= MAX_SITES:
        raise InvalidInput(
            f"a joint search needs 2 to {MAX_SITES} different schools, got {len(ids)}",
            field="site_id",
        )
    if any(not 0 <= d <= 6 for d in weekdays):
        raise InvalidInput("weekdays are 0 (Monday) to 6 (Sunday)", field="weekdays")
    days = check_range(start_date, end_date, policy)
    with uow:
        lookups = Lookups(uow)
        found = lookups.orgs(ids)
        sites = [found[i] for i in ids]
        # the host must be the caller's to read; partners may lie anywhere (lessons across
        # networks are the regional procedure's point): their free or busy time is answered,
        # their terminals are named only to those who see them
        authorize(principal, Action.READ, [sites[0]])
        bells = {site.id: _bells(lookups, site) for site in sites}
        terminals: dict[str, list[str]] = {site.id: [] for site in sites}
        for terminal in uow.terminals.at_sites(ids):
            if terminal.active:
                terminals[terminal.site_id].append(terminal.id)
        if not all(terminals.values()):
            return []
        study_days = lookups.study_days(sites)
        host = sites[0]
        candidates: list[tuple[LessonSlot, tuple[LocalLesson, ...]]] = []
        for day in days:
            if weekdays and day.weekday() not in weekdays:
                continue
            year = lookups.year_covering(day)
            if year is None:
                continue
            closures = lookups.closures(sites, year.start, year.end)
            if day_off(day, year, closures, study_days) is not None:
                continue
            schools = [SchoolBells(s, bells[s.id], year.is_shortened(day)) for s in sites]
            for lesson in day_lessons(
                bells[host.id], host.zone, day, shortened=schools[0].shortened
            ):
                local = joint.in_every_day(lesson, schools)
                if local:
                    candidates.append((lesson, local))
        if not candidates:
            return []
        span = (candidates[0][0].start - timedelta(minutes=setup), candidates[-1][0].end)
        everything = [t for site in ids for t in terminals[site]]
        reservations = uow.occurrences.reservations_overlapping(everything, [span])
        found_slots = joint.joint_free(
            candidates,
            terminals,
            reservations,
            setup_minutes=setup,
            not_before=now,
            weekly=weekly,
        )
        hidden = {s.id for s in sites if not visible(principal, s)}
        return [joint.named_for(s, hidden) for s in found_slots] if hidden else found_slots


def _bells(lookups: Lookups, site: Organisation) -> BellSchedule:
    if site.kind != OrgKind.SCHOOL:
        raise InvalidInput(f"{site.name} is not a school: it has no lessons", field="site_id")
    found = lookups.bells_of(site)
    if found is None:
        raise InvalidInput(f"{site.name} has no bell schedule", field="site_id")
    return found
