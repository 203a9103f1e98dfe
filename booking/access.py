"""Who may do what, and where.

Every principal acts inside one organisation subtree (`org_path`, the materialised path of
its organisation). Roles grant actions; the subtree limits where they apply:

| role                  | read | book       | calendar | inventory | operate, ack | join | region |
|-----------------------|------|------------|----------|-----------|--------------|------|--------|
| rcc_operator          | yes  | yes        | yes      | yes       | yes          | yes  | yes    |
| municipal_coordinator | yes  | yes        | yes      | yes       | yes          | yes  | no     |
| network_admin         | yes  | yes        | yes      | no        | no           | yes  | no     |
| local_coordinator     | yes  | own school | no       | no        | no           | yes  | no     |
| scheduler (service)   | yes  | yes        | no       | no        | no           | no   | no     |
| teacher, viewer       | yes  | no         | no       | no        | no           | yes  | no     |

Besides: "read audit" (the audit trail of the subtree, `READ_AUDIT`) belongs to the RCC and
the municipal coordinator; "manage deadlines" (the deadlines people are reminded of) to the
RCC only.

The request workflow (`booking.workflow`) adds its own actions:

| role                  | offer | publish | request | combine | approve | needs | invite | accept |
|-----------------------|-------|---------|---------|---------|---------|-------|--------|--------|
| rcc_operator          | yes   | yes     | yes     | yes     | yes     | yes   | yes    | yes    |
| municipal_coordinator | yes   | yes     | yes     | yes     | no      | yes   | yes    | yes    |
| network_admin         | yes   | yes     | no      | yes     | no      | yes   | yes    | yes    |
| local_coordinator     | no    | no      | yes     | no      | no      | yes   | yes    | no     |
| teacher               | yes   | no      | no      | no      | no      | no    | no     | no     |
| scheduler, viewer     | no    | no      | no      | no      | no      | no    | no     | no     |

"Offer" is entering a teacher's online lessons (scoped to the host school); "publish" a
network timetable; "request" a school's request (edit, submit, withdraw); "combine" gathering
the network's requests, returning one with a comment and submitting the combined request;
"approve" the RCC's review, approval and rejection; "needs" (search needs) the search "from need"
across every network's offers (the RCC, or the base school for its own pupils); "invite"
sending the offering network an invitation for a need; "accept" answering it.

"Calendar" is closures; "inventory" organisations, terminals and cameras; "operate" the
equipment of a running lesson by hand (start now, end now, redial, camera presets and
snapshots); "ack" acknowledging a monitor alert (it stops the alert's escalation, so it
needs an operating role); "join" getting a link into a lesson's room (teachers get the
moderator link, see `moderates`); "region" (region-wide) conference servers, academic
years, bell schedules and users.

The reports (issue 17): `read_reports` — the reports of an organisation of the subtree
(the monthly report of a municipality needs the municipality in scope: a municipal
coordinator reads only its own; a base school's quarterly report needs that school) —
for the RCC, municipal coordinators, network admins, local coordinators and teachers;
`read_region_reports` (the region overview, the half-year service quality) for the RCC
only; `record_attendance` (pupils present in a school's class, until the month is closed)
for the RCC, municipal and local coordinators and teachers (tutors); `close_month` for
the RCC and municipal coordinators; `reopen_month` for the RCC only.

This table is the only role list: entry points ask `authorize`, `visible`, `scope_of` and
`moderates`, never compare roles themselves.

A booking touches its owner organisation, its host school and every participating school
(and the sites of their terminals): the owner and the host must lie inside the principal's
subtree; a participating school outside it is invited (`outside_scope`) and answers through
its own people, who may book in its subtree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from booking.errors import Forbidden
from booking.organisations import Organisation
from booking.words import Words


class Role(StrEnum):
    RCC_OPERATOR = "rcc_operator"
    MUNICIPAL_COORDINATOR = "municipal_coordinator"
    NETWORK_ADMIN = "network_admin"
    LOCAL_COORDINATOR = "local_coordinator"
    TEACHER = "teacher"
    SCHEDULER = "scheduler"  # a service account of an external timetable scheduler
    VIEWER = "viewer"


class Action(StrEnum):
    READ = "read"
    BOOK = "book"  # create, edit, cancel bookings and their occurrences
    MANAGE_CALENDAR = "manage_calendar"  # closures
    MANAGE_INVENTORY = "manage_inventory"  # organisations, terminals, cameras
    MANAGE_REGION = "manage_region"  # servers, academic years, bell schedules, users
    OPERATE = "operate"  # start/end now, redial, camera presets and snapshots
    ACKNOWLEDGE = "acknowledge"  # acknowledge a monitor alert (stops its escalation)
    JOIN = "join"  # get a link into a lesson's room
    READ_AUDIT = "read_audit"  # read (and export) the audit trail of the subtree
    MANAGE_DEADLINES = "manage_deadlines"  # set and delete the deadlines people are reminded of
    # the request workflow (booking.workflow)
    OFFER = "offer"  # enter a teacher's offered online lessons
    PUBLISH = "publish"  # publish a network timetable
    REQUEST = "request"  # a school's request: edit, submit, withdraw
    COMBINE = "combine"  # assemble, return, submit the network's combined request
    APPROVE = "approve"  # review, approve, reject combined requests (the RCC)
    SEARCH_NEEDS = "search_needs"  # search every network's offers for a need
    INVITE = "invite"  # ask an offering network to take a school in
    ACCEPT = "accept"  # answer such an invitation
    READ_REPORTS = "read_reports"  # the reports of an organisation of the subtree
    READ_REGION_REPORTS = "read_region_reports"  # the region overview, the half-year report
    RECORD_ATTENDANCE = "record_attendance"  # pupils present in a school's class
    CLOSE_MONTH = "close_month"  # freeze a municipality's month (its report is kept)
    REOPEN_MONTH = "reopen_month"  # undo a closing (the RCC)


GRANTS: dict[Role, frozenset[Action]] = {
    Role.RCC_OPERATOR: frozenset(Action),
    Role.MUNICIPAL_COORDINATOR: frozenset(
        {
            Action.READ,
            Action.BOOK,
            Action.MANAGE_CALENDAR,
            Action.MANAGE_INVENTORY,
            Action.OPERATE,
            Action.ACKNOWLEDGE,
            Action.JOIN,
            Action.READ_AUDIT,
            Action.OFFER,
            Action.PUBLISH,
            Action.REQUEST,
            Action.COMBINE,
            Action.SEARCH_NEEDS,
            Action.INVITE,
            Action.ACCEPT,
            Action.READ_REPORTS,
            Action.RECORD_ATTENDANCE,
            Action.CLOSE_MONTH,
        }
    ),
    Role.NETWORK_ADMIN: frozenset(
        {
            Action.READ,
            Action.BOOK,
            Action.MANAGE_CALENDAR,
            Action.JOIN,
            Action.OFFER,
            Action.PUBLISH,
            Action.COMBINE,
            Action.SEARCH_NEEDS,
            Action.INVITE,
            Action.ACCEPT,
            Action.READ_REPORTS,
        }
    ),
    Role.LOCAL_COORDINATOR: frozenset(
        {
            Action.READ,
            Action.BOOK,
            Action.JOIN,
            Action.REQUEST,
            Action.SEARCH_NEEDS,
            Action.INVITE,
            Action.READ_REPORTS,
            Action.RECORD_ATTENDANCE,
        }
    ),
    Role.SCHEDULER: frozenset({Action.READ, Action.BOOK}),
    Role.TEACHER: frozenset(
        {Action.READ, Action.JOIN, Action.OFFER, Action.READ_REPORTS, Action.RECORD_ATTENDANCE}
    ),
    Role.VIEWER: frozenset({Action.READ, Action.JOIN}),
}

REGION_WIDE: frozenset[Role] = frozenset({Role.RCC_OPERATOR})

DOING: dict[Action, Words] = {
    Action.READ: Words("read"),
    Action.BOOK: Words("book"),
    Action.MANAGE_CALENDAR: Words("manage calendar"),
    Action.MANAGE_INVENTORY: Words("manage inventory"),
    Action.MANAGE_REGION: Words("manage region"),
    Action.OPERATE: Words("operate"),
    Action.ACKNOWLEDGE: Words("acknowledge"),
    Action.JOIN: Words("join"),
    Action.READ_AUDIT: Words("read audit"),
    Action.MANAGE_DEADLINES: Words("manage deadlines"),
    Action.OFFER: Words("offer"),
    Action.PUBLISH: Words("publish"),
    Action.REQUEST: Words("request lessons"),
    Action.COMBINE: Words("combine"),
    Action.APPROVE: Words("approve"),
    Action.SEARCH_NEEDS: Words("search needs"),
    Action.INVITE: Words("invite"),
    Action.ACCEPT: Words("accept"),
    Action.READ_REPORTS: Words("read reports"),
    Action.READ_REGION_REPORTS: Words("read region reports"),
    Action.RECORD_ATTENDANCE: Words("record attendance"),
    Action.CLOSE_MONTH: Words("close month"),
    Action.REOPEN_MONTH: Words("reopen month"),
}
"""What an action is called in a refusal ("role viewer may not book")."""
"""Roles whose scope is the whole region, whatever their organisation."""

MODERATORS: frozenset[Role] = frozenset({Role.TEACHER})
"""Roles that get the moderator link into a room (the others the attendee link)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user (or service account) acting in an org subtree."""

    user_id: str
    role: Role
    org_id: str
    org_path: str

    def can(self, action: Action) -> bool:
        return action in GRANTS[self.role]

    def covers(self, path: str) -> bool:
        """True if `path` is the principal's organisation or lies beneath it."""
        return path == self.org_path or path.startswith(self.org_path + "/")


def authorize(principal: Principal, action: Action, orgs: Iterable[Organisation] = ()) -> None:
    """Raise Forbidden (with the reason) unless `principal` may do `action` on every org.

    MANAGE_REGION needs no org: only the RCC may change region-wide things."""
    if not principal.can(action):
        doing = DOING.get(action, Words(action.replace("_", " ")))
        raise Forbidden(
            Words(
                "role %(role)s may not %(action)s",
                {"role": Words(str(principal.role)), "action": doing},
            ),
            role=str(principal.role),
            action=str(action),
        )
    if principal.role in REGION_WIDE:
        return
    for org in orgs:
        if not principal.covers(org.path):
            raise Forbidden(
                Words(
                    "%(org)s is outside the scope of this %(role)s (%(scope)s)",
                    {
                        "org": org.name or org.id,
                        "role": Words(str(principal.role)),
                        "scope": principal.org_id,
                    },
                ),
                role=str(principal.role),
                action=str(action),
                org_id=org.id,
                scope=principal.org_id,
            )


def outside_scope(
    principal: Principal, participants: Iterable[Organisation], host: Organisation
) -> list[Organisation]:
    """The participating schools a booking invites rather than acts on: those outside the
    principal's scope (the owner and the host must lie inside it; the RCC's scope is the
    region). Lessons across networks are the regional procedure's point: the booker acts
    within its scope, partner schools elsewhere are invited and accept or decline."""
    if principal.role in REGION_WIDE:
        return []
    return [o for o in participants if o.id != host.id and not principal.covers(o.path)]


def visible(principal: Principal, org: Organisation) -> bool:
    """May the principal see things belonging to `org`? The RCC sees everything."""
    return principal.role in REGION_WIDE or principal.covers(org.path)


def scope_of(principal: Principal) -> str | None:
    """The org subtree the principal sees and acts in; None for the whole region."""
    return None if principal.role in REGION_WIDE else principal.org_path


def moderates(principal: Principal) -> bool:
    """Does the principal join a room as its moderator (a teacher) rather than attend?"""
    return principal.role in MODERATORS


def roles_allowed(action: Action) -> list[Role]:
    """The roles that may do `action` (what a refusal tells the user to ask for)."""
    return [role for role in Role if action in GRANTS[role]]
