"""Organisations form a tree: region (the RCC) → municipality → network → school.

A school belongs to one municipality and usually to one network (then its parent is the
network, otherwise the municipality). `path` is the materialised chain of ids from the
region down (`kuzbass/kemerovo/kem-net-1/kem-school-20`), so "is X inside Y's subtree"
is a prefix test and a subtree is one indexed query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from booking.errors import InvalidInput
from booking.schoolyear import SIX_DAY_WEEK


class OrgKind(StrEnum):
    REGION = "region"
    MUNICIPALITY = "municipality"
    NETWORK = "network"
    SCHOOL = "school"


ALLOWED_PARENTS: dict[OrgKind, tuple[OrgKind, ...]] = {
    OrgKind.REGION: (),
    OrgKind.MUNICIPALITY: (OrgKind.REGION,),
    OrgKind.NETWORK: (OrgKind.MUNICIPALITY,),
    OrgKind.SCHOOL: (OrgKind.NETWORK, OrgKind.MUNICIPALITY),
}


def check_time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}", field="time_zone") from exc


@dataclass
class Organisation:
    id: str
    kind: OrgKind
    name: str
    parent_id: str | None
    path: str
    time_zone: str
    address: str = ""
    contacts: dict[str, str] = field(default_factory=dict)
    bell_schedule_id: str | None = None
    base_school_id: str | None = None  # networks: the base school the network is built around
    study_days: int | None = None  # 5 or 6 (Mon–Fri / Mon–Sat); None: as the parent says
    version: int = 1

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_within(self, ancestor_path: str) -> bool:
        """True if this organisation is `ancestor_path` itself or inside its subtree."""
        return self.path == ancestor_path or self.path.startswith(ancestor_path + "/")


def study_days_of(org: Organisation, orgs_by_id: Mapping[str, Organisation]) -> int:
    """The study week of `org`: its own, else the nearest ancestor's (`orgs_by_id` holds the
    ancestors on its path), else six days."""
    for org_id in reversed(org.path.split("/")):
        found = org if org_id == org.id else orgs_by_id.get(org_id)
        if found is not None and found.study_days is not None:
            return found.study_days
    return SIX_DAY_WEEK


CalendarKey = tuple[str, str, int]  # (bell schedule id or "", time zone, study days)


def calendar_groups(
    orgs: Iterable[Organisation], orgs_by_id: Mapping[str, Organisation]
) -> dict[CalendarKey, list[Organisation]]:
    """`orgs` grouped by the calendar a weekly lesson is dated by: bells, zone and study
    week (their own or inherited; `orgs_by_id` holds their ancestors). Schools of one
    group share one expansion of a recurrence (closures aside)."""
    groups: dict[CalendarKey, list[Organisation]] = {}
    for org in orgs:
        key = (org.bell_schedule_id or "", org.time_zone, study_days_of(org, orgs_by_id))
        groups.setdefault(key, []).append(org)
    return groups


def child_path(parent: Organisation | None, child_id: str) -> str:
    return child_id if parent is None else f"{parent.path}/{child_id}"


def check_parent(kind: OrgKind, parent: Organisation | None) -> None:
    """The tree's shape: a school under a network or a municipality, and so on."""
    allowed = ALLOWED_PARENTS[kind]
    if parent is None and allowed:
        raise InvalidInput(f"a {kind} needs a parent ({' or '.join(allowed)})", field="parent_id")
    if parent is not None and parent.kind not in allowed:
        raise InvalidInput(f"a {kind} cannot be placed under a {parent.kind}", field="parent_id")
