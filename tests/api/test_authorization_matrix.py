"""The authorization matrix, generated from the routes: every operation of the API, called by
every role acting in its own organisation subtree and in a foreign one, is allowed or
refused exactly as the role table of `booking.access` (GRANTS and the subtree rule) says.

- "own": things of МБОУ «СОШ №20» (Kemerovo), inside the subtree of every principal here;
  "foreign": things of МБОУ «СОШ №5» (Novokuznetsk), outside all of them but the RCC's.
- refused = 403, or 404 for what the caller may not even see (as the API answers today);
  allowed = anything but 401/403 (a 409 or 503 is the operation's own answer).
- Every operation of the OpenAPI document must be classified in ROUTES (or in UNGUARDED,
  with the reason): a new route fails `test_every_route_is_classified` until it is.
- Principal kinds: a user's login token, a read-only calendar-feed token (calendar feeds
  only), no token. A new kind (e.g. a deactivated user, whose tokens must stop working) is
  one more entry in KINDS with its expectation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from adapters.storage.health import SqlHealthStore
from booking.access import Action, Principal, Role, authorize
from booking.bookings import Participant, SessionKind
from booking.errors import Forbidden
from booking.health import DeviceKind, HealthState
from booking.organisations import Organisation
from booking.services import bookings as booking_service
from booking.services import users
from booking.services.bookings import BookingRequest
from booking.users import User
from tests.api.conftest import RCC
from tests.api.workflow_world import offer_body, thing
from tests.automation.conftest import database_on
from vks.auth.issuing import issue_recorded
from vks.auth.tokens import Scope
from vks.bootstrap import Container

API = "/api/v1"
database_url = database_on(
    "sqlite", "the matrix is about the API's rules, not storage: SQLite keeps it fast"
)
OWN_SCHOOL, FOREIGN_SCHOOL = "kem-school-20", "nvk-school-5"
ROLE_ORG: dict[Role, str] = {
    Role.RCC_OPERATOR: "kuzbass",
    Role.MUNICIPAL_COORDINATOR: "kemerovo",
    Role.NETWORK_ADMIN: "kem-net-20",
    Role.LOCAL_COORDINATOR: "kem-school-20",
    Role.SCHEDULER: "kem-net-20",
    Role.TEACHER: "kem-school-20",
    Role.VIEWER: "kem-school-20",
}


class Subtree(StrEnum):
    OWN = "own"
    FOREIGN = "foreign"


# --- the world the requests act on ------------------------------------------------------------
@dataclass(frozen=True)
class Side:
    """The ids of one subtree's things."""

    school: str
    network: str
    terminal: str
    camera: str
    booking: str
    occurrence: str
    alert: str


@dataclass
class World:
    container: Container
    client: TestClient
    sides: dict[Subtree, Side]
    rcc: dict[str, str]  # headers of the RCC, to read what a request needs
    bystander_feed: str  # the jti of a feed token of another user (matrix-bystander)
    extras: dict[str, str] = field(default_factory=dict)  # the workflow's things, made on use

    def side(self, subtree: Subtree) -> Side:
        return self.sides[subtree]

    def current(self, path: str, fields: list[str]) -> tuple[dict[str, Any], str]:
        """The thing at `path` as the RCC reads it, cut to the input fields; its ETag."""
        answer = self.client.get(path, headers=self.rcc)
        assert answer.status_code == 200, (path, answer.text)
        body = {k: v for k, v in answer.json().items() if k in fields}
        return body, answer.headers.get("etag", "")

    def closure(self, subtree: Subtree) -> str:
        closure_id = f"q-{uuid.uuid4().hex[:8]}"
        created = self.client.post(
            f"{API}/closures",
            json={"id": closure_id, "org_id": self.side(subtree).school,
                  "start": "2027-02-01", "end": "2027-02-07", "reason": "карантин"},
            headers=self.rcc,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        return closure_id

    def deadline(self) -> str:
        created = self.client.post(
            f"{API}/deadlines",
            json={"kind": "combined_request", "period": "2026/27, 3 четверть",
                  "due_on": "2027-01-10", "scope_org_id": "kuzbass"},
            headers=self.rcc,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """What an operation needs: `action` (None: any signed-in principal) on the org
    `target` names for the subtree (None: nothing in a subtree, the same call for both)."""

    action: Action | None
    call: Callable[[World, Subtree], Call]
    target: Callable[[Side], str] | None = None
    refused: Callable[[Response], bool] | None = None  # beyond 403/404


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def lesson_request(side: Side, terminal: str, **changes: Any) -> dict[str, Any]:
    body = {
        "title": "Физика, 10 класс",
        "host_school_id": side.school,
        "owner_org_id": side.school,
        "teacher": "Иванова Мария Петровна",
        "participants": [{"school_id": side.school, "terminal_id": terminal}],
        "date": "2026-09-22",
        "lesson_number": 4,
    }
    return {**body, **changes}


def put(path: str, fields: list[str], body: Callable[[World, Subtree], str]) -> Any:
    """A PUT of the thing as it is (with its ETag): refused or allowed, nothing changes."""

    def call(world: World, subtree: Subtree) -> Call:
        at = path.format(id=body(world, subtree))
        current, etag = world.current(at, fields)
        return Call("PUT", at, json=current, headers={"If-Match": etag})

    return call


def get(path: str, **params: Any) -> Callable[[World, Subtree], Call]:
    def call(world: World, subtree: Subtree) -> Call:
        side = world.side(subtree)
        return Call(
            "GET",
            path.format(**vars(side)),
            {k: v.format(**vars(side)) if isinstance(v, str) else v for k, v in params.items()},
        )

    return call


def post(path: str, body: Any = None) -> Callable[[World, Subtree], Call]:
    def call(world: World, subtree: Subtree) -> Call:
        side = world.side(subtree)
        made = body(world, subtree) if callable(body) else body
        return Call("POST", path.format(**vars(side)), json=made)

    return call


def school(s: Side) -> str:
    return s.school


def network(s: Side) -> str:
    return s.network


MUNICIPALITY_OF = {OWN_SCHOOL: "kemerovo", FOREIGN_SCHOOL: "novokuznetsk"}


def municipality(s: Side) -> str:
    return MUNICIPALITY_OF[s.school]


def all_items_refused(answer: Response) -> bool:
    if answer.status_code != 200:
        return False
    codes = {item.get("code") for item in answer.json()["results"]}
    return codes <= {"forbidden", "not_found"} and bool(codes)


TERMINAL_FIELDS = ["id", "site_id", "name", "vendor", "sip_address", "control_url", "username",
                   "credentials_ref", "capabilities", "active", "backup_for"]  # fmt: skip
CAMERA_FIELDS = ["id", "terminal_id", "onvif_url", "username", "credentials_ref", "presets",
                 "active"]  # fmt: skip
ORG_FIELDS = ["name", "time_zone", "address", "contacts", "bell_schedule_id", "base_school_id"]
SERVER_FIELDS = ["id", "kind", "name", "base_url", "secret_ref", "max_rooms",
                 "max_participants", "gateway_sip_host", "gateway_ports", "active"]  # fmt: skip
YEAR_FIELDS = ["id", "start", "end", "quarters", "holidays", "public_holidays", "shortened_days"]
BELLS_FIELDS = ["id", "name", "lessons", "shortened"]

ROUTES: dict[str, Rule] = {
    # --- self-service: any signed-in principal ---
    "GET /api/v1/auth/me": Rule(None, get(f"{API}/auth/me")),
    "POST /api/v1/auth/feed-token": Rule(None, post(f"{API}/auth/feed-token")),
    "GET /api/v1/auth/feed-tokens": Rule(None, get(f"{API}/auth/feed-tokens")),
    # revoking another user's token (the bystander's) is the RCC's; others get 404
    "DELETE /api/v1/auth/feed-tokens/{jti}": Rule(Action.MANAGE_REGION, lambda w, s: Call(
        "DELETE", f"{API}/auth/feed-tokens/{w.bystander_feed}")),
    # --- region-wide: users, servers, academic years, bell schedules ---
    "GET /api/v1/users": Rule(Action.MANAGE_REGION, get(f"{API}/users")),
    "POST /api/v1/users": Rule(Action.MANAGE_REGION, post(f"{API}/users", lambda w, s: {
        "username": fresh("user"), "password": "a long passphrase of the matrix",
        "role": "viewer", "org_id": OWN_SCHOOL})),
    "PUT /api/v1/users/{user_id}/active": Rule(Action.MANAGE_REGION, lambda w, s: Call(
        "PUT", f"{API}/users/matrix-bystander/active", json={"active": True})),
    "GET /api/v1/servers": Rule(Action.READ, get(f"{API}/servers")),
    "POST /api/v1/servers": Rule(Action.MANAGE_REGION, post(f"{API}/servers", lambda w, s: {
        "id": fresh("bbb"), "kind": "bbb", "name": "BBB резерв",
        "base_url": "https://bbb9.rcc.example.ru/bigbluebutton/", "secret_ref": "env:VKS_BBB9",
        "max_rooms": 10, "max_participants": 100})),
    "GET /api/v1/servers/{server_id}": Rule(Action.READ, get(f"{API}/servers/bbb-1")),
    "PUT /api/v1/servers/{server_id}": Rule(
        Action.MANAGE_REGION, put(f"{API}/servers/{{id}}", SERVER_FIELDS, lambda w, s: "bbb-1")),
    "GET /api/v1/academic-years": Rule(Action.READ, get(f"{API}/academic-years")),
    "POST /api/v1/academic-years": Rule(Action.MANAGE_REGION, post(
        f"{API}/academic-years", lambda w, s: {"id": fresh("y"), "start": "2030-09-01",
                                            "end": "2031-05-31"})),
    "GET /api/v1/academic-years/span": Rule(
        Action.READ, get(f"{API}/academic-years/span", on="2026-10-01")),
    "GET /api/v1/academic-years/{year_id}": Rule(
        Action.READ, get(f"{API}/academic-years/2026-2027")),
    "PUT /api/v1/academic-years/{year_id}": Rule(Action.MANAGE_REGION, put(
        f"{API}/academic-years/{{id}}", YEAR_FIELDS, lambda w, s: "2026-2027")),
    "GET /api/v1/bell-schedules": Rule(Action.READ, get(f"{API}/bell-schedules")),
    "POST /api/v1/bell-schedules": Rule(Action.MANAGE_REGION, post(
        f"{API}/bell-schedules", lambda w, s: {"id": fresh("bells"),
                                            "lessons": {"1": ["08:00", "08:40"]}})),
    "GET /api/v1/bell-schedules/{schedule_id}": Rule(
        Action.READ, get(f"{API}/bell-schedules/standard")),
    "PUT /api/v1/bell-schedules/{schedule_id}": Rule(Action.MANAGE_REGION, put(
        f"{API}/bell-schedules/{{id}}", BELLS_FIELDS, lambda w, s: "standard")),
    # --- organisations, sites, terminals, cameras ---
    "GET /api/v1/organisations": Rule(Action.READ, get(f"{API}/organisations")),
    "POST /api/v1/organisations": Rule(Action.MANAGE_INVENTORY, post(
        f"{API}/organisations", lambda w, s: {
            "id": fresh("school"), "kind": "school", "name": "МБОУ «СОШ №99»",
            "parent_id": w.side(s).network, "time_zone": "Asia/Novokuznetsk"}), network),
    "GET /api/v1/organisations/{org_id}": Rule(
        Action.READ, get(f"{API}/organisations/{{school}}"), school),
    "PUT /api/v1/organisations/{org_id}": Rule(Action.MANAGE_INVENTORY, put(
        f"{API}/organisations/{{id}}", ORG_FIELDS, lambda w, s: w.side(s).school), school),
    "GET /api/v1/sites": Rule(Action.READ, get(f"{API}/sites")),
    "GET /api/v1/sites/{site_id}/day": Rule(
        Action.READ, get(f"{API}/sites/{{school}}/day", date="2026-09-15"), school),
    "GET /api/v1/sites/{site_id}/lessons/{lesson_number}": Rule(
        Action.READ, get(f"{API}/sites/{{school}}/lessons/3", date="2026-09-15"), school),
    "GET /api/v1/terminals": Rule(Action.READ, get(f"{API}/terminals")),
    "POST /api/v1/terminals": Rule(Action.MANAGE_INVENTORY, post(
        f"{API}/terminals", lambda w, s: {
            "id": (t := fresh("term")), "site_id": w.side(s).school, "name": "Кабинет 2",
            "vendor": "cisco_xapi", "sip_address": f"sip:{t}@vks.kuzbass.example.ru",
            "control_url": "http://10.42.0.99"}), school),
    "GET /api/v1/terminals/{terminal_id}": Rule(
        Action.READ, get(f"{API}/terminals/{{terminal}}"), school),
    "PUT /api/v1/terminals/{terminal_id}": Rule(Action.MANAGE_INVENTORY, put(
        f"{API}/terminals/{{id}}", TERMINAL_FIELDS, lambda w, s: w.side(s).terminal), school),
    "POST /api/v1/terminals/{terminal_id}/retire": Rule(
        Action.MANAGE_INVENTORY, post(f"{API}/terminals/{{terminal}}/retire"), school),
    "GET /api/v1/cameras": Rule(Action.READ, get(f"{API}/cameras")),
    "POST /api/v1/terminals/{terminal_id}/hang-up": Rule(
        Action.OPERATE, post(f"{API}/terminals/{{terminal}}/hang-up"), school),
    "POST /api/v1/terminals/{terminal_id}/reset": Rule(
        Action.OPERATE, post(f"{API}/terminals/{{terminal}}/reset"), school),
    "POST /api/v1/cameras": Rule(Action.MANAGE_INVENTORY, post(
        f"{API}/cameras", lambda w, s: {"id": fresh("cam"), "terminal_id": w.side(s).terminal,
                                      "onvif_url": "http://10.42.1.99"}), school),
    "GET /api/v1/cameras/{camera_id}": Rule(Action.READ, get(f"{API}/cameras/{{camera}}"), school),
    "PUT /api/v1/cameras/{camera_id}": Rule(Action.MANAGE_INVENTORY, put(
        f"{API}/cameras/{{id}}", CAMERA_FIELDS, lambda w, s: w.side(s).camera), school),
    # --- closures (calendars) ---
    "GET /api/v1/closures": Rule(Action.READ, get(
        f"{API}/closures", org_id="{school}", **{"from": "2026-09-01", "to": "2026-12-31"}),
        school),
    "POST /api/v1/closures": Rule(Action.MANAGE_CALENDAR, post(
        f"{API}/closures", lambda w, s: {"id": fresh("q"), "org_id": w.side(s).school,
                                       "start": "2027-02-01", "end": "2027-02-07"}), school),
    "DELETE /api/v1/closures/{closure_id}": Rule(Action.MANAGE_CALENDAR, lambda w, s: Call(
        "DELETE", f"{API}/closures/{w.closure(s)}"), school),
    # --- bookings and occurrences ---
    "POST /api/v1/bookings": Rule(Action.BOOK, post(
        f"{API}/bookings", lambda w, s: lesson_request(w.side(s), w.side(s).terminal)), school),
    "GET /api/v1/bookings": Rule(Action.READ, get(f"{API}/bookings")),
    "GET /api/v1/bookings/{booking_id}": Rule(
        Action.READ, get(f"{API}/bookings/{{booking}}"), school),
    "PUT /api/v1/bookings/{booking_id}": Rule(Action.BOOK, lambda w, s: Call(
        "PUT", f"{API}/bookings/{w.side(s).booking}",
        json=lesson_request(w.side(s), w.side(s).terminal, date="2026-09-15", lesson_number=3),
        headers={"If-Match": w.current(f"{API}/bookings/{w.side(s).booking}", [])[1]}), school),
    "POST /api/v1/bookings/{booking_id}/cancel": Rule(
        Action.BOOK, post(f"{API}/bookings/{{booking}}/cancel"), school),
    "POST /api/v1/bookings/{booking_id}/confirm": Rule(
        Action.BOOK, post(f"{API}/bookings/{{booking}}/confirm"), school),
    "POST /api/v1/bookings/{booking_id}/invitations/{school_id}/accept": Rule(
        Action.BOOK, post(f"{API}/bookings/{{booking}}/invitations/{{school}}/accept"), school),
    "POST /api/v1/bookings/{booking_id}/invitations/{school_id}/decline": Rule(
        Action.BOOK, post(f"{API}/bookings/{{booking}}/invitations/{{school}}/decline"), school),
    "GET /api/v1/bookings/{booking_id}/occurrences": Rule(
        Action.READ, get(f"{API}/bookings/{{booking}}/occurrences"), school),
    "GET /api/v1/occurrences": Rule(Action.READ, get(
        f"{API}/occurrences", start="2026-09-14T00:00:00Z", end="2026-09-16T00:00:00Z")),
    "GET /api/v1/occurrences/{occurrence_id}": Rule(
        Action.READ, get(f"{API}/occurrences/{{occurrence}}"), school),
    "POST /api/v1/occurrences/{occurrence_id}/move": Rule(
        Action.BOOK, post(f"{API}/occurrences/{{occurrence}}/move", {"lesson_number": 5}), school),
    "POST /api/v1/occurrences/{occurrence_id}/cancel": Rule(
        Action.BOOK, post(f"{API}/occurrences/{{occurrence}}/cancel", {"reason": "карантин"}),
        school),
    "POST /api/v1/occurrences/{occurrence_id}/substitute": Rule(Action.BOOK, post(
        f"{API}/occurrences/{{occurrence}}/substitute", {"teacher": "Орлова Нина Петровна"}),
        school),
    "POST /api/v1/timetable": Rule(Action.BOOK, post(f"{API}/timetable", lambda w, s: {
        "items": [lesson_request(w.side(s), w.side(s).terminal, date="2026-09-29",
                                 external_ref=fresh("tt"))]}),
        school, all_items_refused),
    # --- availability ---
    "GET /api/v1/availability/terminals": Rule(Action.READ, get(
        f"{API}/availability/terminals", start="2026-09-15T03:00:00Z", end="2026-09-15T04:00:00Z")),
    "GET /api/v1/availability/lessons": Rule(Action.READ, get(
        f"{API}/availability/lessons", **{"from": "2026-09-15", "to": "2026-09-15"})),
    "GET /api/v1/availability/joint-lessons": Rule(Action.READ, lambda w, s: Call(
        "GET", f"{API}/availability/joint-lessons",
        {"site_id": [w.side(s).school, "ins-school-mp"], "from": "2026-09-15",
         "to": "2026-09-15"}), school),
    "GET /api/v1/grid": Rule(Action.READ, get(
        f"{API}/grid", school="{school}", week="2026-09-15"), school),
    "GET /api/v1/availability/intervals": Rule(Action.READ, get(
        f"{API}/availability/intervals", terminal_id="{terminal}",
        **{"from": "2026-09-15", "to": "2026-09-16"}), school),
    # --- calendar feeds (a login token in the header here; feed tokens: KINDS) ---
    "GET /api/v1/calendars/terminals/{terminal_id}.ics": Rule(
        Action.READ, get(f"{API}/calendars/terminals/{{terminal}}.ics"), school),
    "GET /api/v1/calendars/schools/{school_id}.ics": Rule(
        Action.READ, get(f"{API}/calendars/schools/{{school}}.ics"), school),
    "GET /api/v1/calendars/organisations/{org_id}.ics": Rule(
        Action.READ, get(f"{API}/calendars/organisations/{{network}}.ics"), network),
    "GET /api/v1/calendars/teachers/{teacher}.ics": Rule(
        Action.READ, get(f"{API}/calendars/teachers/Иванова Мария Петровна.ics")),
    # --- the automation ---
    "GET /api/v1/occurrences/{occurrence_id}/lifecycle": Rule(
        Action.READ, get(f"{API}/occurrences/{{occurrence}}/lifecycle"), school),
    "GET /api/v1/occurrences/{occurrence_id}/room": Rule(
        Action.JOIN, get(f"{API}/occurrences/{{occurrence}}/room"), school),
    "POST /api/v1/occurrences/{occurrence_id}/start-now": Rule(
        Action.OPERATE, post(f"{API}/occurrences/{{occurrence}}/start-now"), school),
    "POST /api/v1/occurrences/{occurrence_id}/end-now": Rule(
        Action.OPERATE, post(f"{API}/occurrences/{{occurrence}}/end-now"), school),
    "POST /api/v1/occurrences/{occurrence_id}/terminals/{terminal_id}/redial": Rule(
        Action.OPERATE, post(f"{API}/occurrences/{{occurrence}}/terminals/{{terminal}}/redial"),
        school),
    "POST /api/v1/occurrences/{occurrence_id}/cameras/{camera_id}/preset": Rule(
        Action.OPERATE, post(f"{API}/occurrences/{{occurrence}}/cameras/{{camera}}/preset",
                             {"preset": "board"}), school),
    "GET /api/v1/cameras/{camera_id}/snapshot": Rule(
        Action.OPERATE, get(f"{API}/cameras/{{camera}}/snapshot"), school),
    "POST /api/v1/cameras/{camera_id}/preset": Rule(
        Action.OPERATE, post(f"{API}/cameras/{{camera}}/preset", {"preset": "board"}), school),
    # --- the monitor ---
    "GET /api/v1/monitor/devices": Rule(Action.READ, get(f"{API}/monitor/devices")),
    "GET /api/v1/monitor/devices/{kind}/{device_id}": Rule(
        Action.READ, get(f"{API}/monitor/devices/terminal/{{terminal}}"), school),
    "GET /api/v1/monitor/devices/{kind}/{device_id}/history": Rule(
        Action.READ, get(f"{API}/monitor/devices/terminal/{{terminal}}/history"), school),
    "GET /api/v1/monitor/devices/{kind}/{device_id}/uptime": Rule(
        Action.READ, get(f"{API}/monitor/devices/terminal/{{terminal}}/uptime"), school),
    "GET /api/v1/monitor/lessons/at-risk": Rule(Action.READ, get(f"{API}/monitor/lessons/at-risk")),
    "GET /api/v1/monitor/alerts": Rule(Action.READ, get(f"{API}/monitor/alerts")),
    "POST /api/v1/monitor/alerts/{alert_id}/ack": Rule(Action.ACKNOWLEDGE, post(
        f"{API}/monitor/alerts/{{alert}}/ack", {"note": "инженер выехал"}), school),
    # --- notifications: each caller's own; deadlines set by the RCC; the audit trail ---
    "GET /api/v1/notifications": Rule(None, get(f"{API}/notifications")),
    "GET /api/v1/notifications/unread-count": Rule(None, get(f"{API}/notifications/unread-count")),
    "POST /api/v1/notifications/read-all": Rule(None, post(f"{API}/notifications/read-all")),
    "GET /api/v1/notifications/preferences": Rule(None, get(f"{API}/notifications/preferences")),
    "PUT /api/v1/notifications/preferences": Rule(None, lambda w, s: Call(
        "PUT", f"{API}/notifications/preferences", json={"channels": {"*": ["email"]}})),
    "GET /api/v1/deadlines": Rule(None, get(f"{API}/deadlines")),
    "POST /api/v1/deadlines": Rule(Action.MANAGE_DEADLINES, post(f"{API}/deadlines", {
        "kind": "combined_request", "period": "2026/27, 3 четверть", "due_on": "2027-01-10",
        "scope_org_id": "kuzbass", "roles": ["network_admin"]})),
    "DELETE /api/v1/deadlines/{deadline_id}": Rule(Action.MANAGE_DEADLINES, lambda w, s: Call(
        "DELETE", f"{API}/deadlines/{w.deadline()}")),
    "GET /api/v1/audit": Rule(Action.READ_AUDIT, get(f"{API}/audit")),
    "GET /api/v1/audit.csv": Rule(Action.READ_AUDIT, get(f"{API}/audit.csv")),
    # --- the request workflow (things made on first use: tests/api/workflow_world.py) ---
    "GET /api/v1/availability/recurring": Rule(Action.READ, get(
        f"{API}/availability/recurring", weekday=1, lesson_number=3,
        **{"from": "2026-09-01", "to": "2026-10-24"})),
    "POST /api/v1/workflow/offers": Rule(Action.OFFER, post(
        f"{API}/workflow/offers", lambda w, s: offer_body(w.side(s))), school),
    "GET /api/v1/workflow/offers": Rule(Action.READ, get(f"{API}/workflow/offers")),
    "GET /api/v1/workflow/offers/{offer_id}": Rule(Action.READ, lambda w, s: Call(
        "GET", f"{API}/workflow/offers/{thing(w, s, 'offer')}")),
    "PUT /api/v1/workflow/offers/{offer_id}": Rule(Action.OFFER, lambda w, s: Call(
        "PUT", f"{API}/workflow/offers/{thing(w, s, 'offer')}", json=offer_body(w.side(s)),
        headers={"If-Match": "*"}), school),
    "POST /api/v1/workflow/networks/{network_id}/timetable": Rule(Action.PUBLISH, lambda w, s: Call(
        "POST", f"{API}/workflow/networks/{w.side(s).network}/timetable",
        json={"offer_ids": [thing(w, s, "offer")], "starts_on": "2026-09-01",
              "ends_on": "2026-10-24"}), network),
    "GET /api/v1/workflow/networks/{network_id}/timetable": Rule(Action.READ, lambda w, s: Call(
        "GET", f"{API}/workflow/networks/{w.side(s).network}/timetable",
        params={"_": thing(w, s, "offer")})),
    "POST /api/v1/workflow/requests": Rule(Action.REQUEST, lambda w, s: Call(
        "POST", f"{API}/workflow/requests", json={"school_id": w.side(s).school, "items": [
            {"offer_id": thing(w, s, "offer"), "class_name": "10В", "pupils": 12}]}), school),
    "GET /api/v1/workflow/requests": Rule(Action.READ, get(f"{API}/workflow/requests")),
    "GET /api/v1/workflow/requests/{request_id}": Rule(Action.READ, lambda w, s: Call(
        "GET", f"{API}/workflow/requests/{thing(w, s, 'draft')}"), school),
    "PUT /api/v1/workflow/requests/{request_id}": Rule(Action.REQUEST, lambda w, s: Call(
        "PUT", f"{API}/workflow/requests/{thing(w, s, 'draft')}", json={
            "school_id": w.side(s).school, "items": [
                {"offer_id": thing(w, s, "offer"), "class_name": "10В", "pupils": 12}]},
        headers={"If-Match": "*"}), school),
    "POST /api/v1/workflow/requests/{request_id}/submit": Rule(Action.REQUEST, lambda w, s: Call(
        "POST", f"{API}/workflow/requests/{thing(w, s, 'draft')}/submit"), school),
    "POST /api/v1/workflow/requests/{request_id}/withdraw": Rule(Action.REQUEST, lambda w, s: Call(
        "POST", f"{API}/workflow/requests/{thing(w, s, 'draft')}/withdraw"), school),
    "POST /api/v1/workflow/requests/{request_id}/return": Rule(Action.COMBINE, lambda w, s: Call(
        "POST", f"{API}/workflow/requests/{thing(w, s, 'submitted')}/return",
        json={"comment": "Уточните класс"}), network),
    "POST /api/v1/workflow/combined/check": Rule(Action.COMBINE, lambda w, s: Call(
        "POST", f"{API}/workflow/combined/check", json={
            "network_id": w.side(s).network, "request_ids": [thing(w, s, "submitted")]}),
        network),
    "POST /api/v1/workflow/combined": Rule(Action.COMBINE, lambda w, s: Call(
        "POST", f"{API}/workflow/combined", json={
            "network_id": w.side(s).network, "request_ids": [thing(w, s, "submitted")]}),
        network),
    "GET /api/v1/workflow/combined": Rule(Action.READ, get(f"{API}/workflow/combined")),
    "GET /api/v1/workflow/combined/{combined_id}": Rule(Action.READ, lambda w, s: Call(
        "GET", f"{API}/workflow/combined/{thing(w, s, 'assembled')}"), network),
    "POST /api/v1/workflow/combined/{combined_id}/submit": Rule(Action.COMBINE, lambda w, s: Call(
        "POST", f"{API}/workflow/combined/{thing(w, s, 'assembled')}/submit"), network),
    "GET /api/v1/workflow/combined/{combined_id}/review": Rule(Action.APPROVE, lambda w, s: Call(
        "GET", f"{API}/workflow/combined/{thing(w, s, 'sent')}/review"), network),
    "POST /api/v1/workflow/combined/{combined_id}/approve": Rule(Action.APPROVE, lambda w, s: Call(
        "POST", f"{API}/workflow/combined/{thing(w, s, 'sent')}/approve", json={}), network),
    "POST /api/v1/workflow/combined/{combined_id}/reject": Rule(Action.APPROVE, lambda w, s: Call(
        "POST", f"{API}/workflow/combined/{thing(w, s, 'sent')}/reject",
        json={"reason": "Нет свободных терминалов"}), network),
    "POST /api/v1/workflow/needs/search": Rule(Action.SEARCH_NEEDS, post(
        f"{API}/workflow/needs/search", lambda w, s: {
            "school_id": w.side(s).school, "need": {"subject": "Физика", "grade": 10}}), school),
    "POST /api/v1/workflow/invitations": Rule(Action.INVITE, lambda w, s: Call(
        "POST", f"{API}/workflow/invitations", json={
            "offer_id": thing(w, s, "offer"), "school_id": w.side(s).school,
            "need": {"subject": "Физика", "grade": 10}, "class_name": "10Г", "pupils": 8}),
        school),
    "GET /api/v1/workflow/invitations": Rule(Action.READ, get(f"{API}/workflow/invitations")),
    "POST /api/v1/workflow/invitations/{invitation_id}/accept": Rule(
        Action.ACCEPT, lambda w, s: Call(
            "POST", f"{API}/workflow/invitations/{thing(w, s, 'invitation')}/accept", json={}),
        network),
    "POST /api/v1/workflow/invitations/{invitation_id}/decline": Rule(
        Action.ACCEPT, lambda w, s: Call(
            "POST", f"{API}/workflow/invitations/{thing(w, s, 'invitation-2')}/decline", json={}),
        network),
    # the reports (issue 17): a municipality's monthly report needs the municipality in scope
    "GET /api/v1/reports/monthly/{municipality_id}/{month}": Rule(
        Action.READ_REPORTS, lambda w, s: Call(
            "GET", f"{API}/reports/monthly/{municipality(w.side(s))}/2026-07"), municipality),
    "GET /api/v1/reports/monthly/{municipality_id}/{month}/charts/{chart}.svg": Rule(
        Action.READ_REPORTS, lambda w, s: Call(
            "GET", f"{API}/reports/monthly/{municipality(w.side(s))}/2026-07/charts/weeks.svg"),
        municipality),
    "POST /api/v1/reports/monthly/{municipality_id}/{month}/close": Rule(
        Action.CLOSE_MONTH, lambda w, s: Call(
            "POST", f"{API}/reports/monthly/{municipality(w.side(s))}/2026-07/close"),
        municipality),
    "POST /api/v1/reports/monthly/{municipality_id}/{month}/reopen": Rule(
        Action.REOPEN_MONTH, lambda w, s: Call(
            "POST", f"{API}/reports/monthly/{municipality(w.side(s))}/2026-07/reopen"),
        municipality),
    "GET /api/v1/reports/region/{month}": Rule(
        Action.READ_REGION_REPORTS, get(f"{API}/reports/region/2026-07")),
    "GET /api/v1/reports/region/{month}/charts/{chart}.svg": Rule(
        Action.READ_REGION_REPORTS, get(f"{API}/reports/region/2026-07/charts/causes.svg")),
    "GET /api/v1/reports/quarterly/{school_id}/{quarter}": Rule(
        Action.READ_REPORTS, get(f"{API}/reports/quarterly/{{school}}/2026-Q3"), school),
    "GET /api/v1/reports/quality/{half_year}": Rule(
        Action.READ_REGION_REPORTS, get(f"{API}/reports/quality/2026-H1")),
    "PUT /api/v1/occurrences/{occurrence_id}/attendance/{school_id}": Rule(
        Action.RECORD_ATTENDANCE, lambda w, s: Call(
            "PUT", f"{API}/occurrences/{w.side(s).occurrence}/attendance/{w.side(s).school}",
            json={"present": 18}), school),
    "GET /api/v1/occurrences/{occurrence_id}/attendance": Rule(
        Action.READ_REPORTS, get(f"{API}/occurrences/{{occurrence}}/attendance"), school),
}  # fmt: skip

UNGUARDED: dict[str, str] = {
    "POST /api/v1/auth/login": "public: exchanges a password for a token",
    "GET /api/v1/health": "public: the load balancer's probe",
    "GET /api/v1/health/live": "public: the process supervisor's probe",
    "POST /api/v1/monitor/push/terminals/{terminal_id}": "the terminal's own token in its URL",
    "POST /api/v1/notifications/{notification_id}/read": "any signed-in caller, on their own"
    " notifications only (another's answers 404): tests/api/test_notifications_api.py",
}


def operations(container: Container) -> set[str]:
    from vks.api.app import create_app

    paths = create_app(container=container).openapi()["paths"]
    return {f"{method.upper()} {path}" for path, ops in paths.items() for method in ops}


# --- principals ----------------------------------------------------------------------------------
class Kind(StrEnum):
    """How the caller authenticates. A deactivated user's login token is refused (401) on
    every guarded operation, as no token is."""

    LOGIN = "login token"
    FEED = "feed token"
    DEACTIVATED = "login token of a deactivated user"
    ANONYMOUS = "no token"


REFUSED_OUTRIGHT = (Kind.ANONYMOUS, Kind.DEACTIVATED)


def is_feed(operation: str) -> bool:
    return operation.startswith(f"GET {API}/calendars/")


def expected_allowed(
    kind: Kind, operation: str, principal: Principal, rule: Rule, target: Organisation | None
) -> bool:
    if kind in REFUSED_OUTRIGHT or (kind is Kind.FEED and not is_feed(operation)):
        return False
    if rule.action is None:
        return True
    try:
        authorize(principal, rule.action, [target] if target is not None else [])
    except Forbidden:
        return False
    return True


def credentials(container: Container, kind: Kind, principal: Principal) -> dict[str, str]:
    if kind is Kind.ANONYMOUS:
        return {}
    if kind is Kind.DEACTIVATED:
        gone = replace(principal, user_id=f"matrix-gone-{principal.role}")
        return headers(container, gone)
    return headers(container, principal, Scope.FEED if kind is Kind.FEED else Scope.API)


def outcome_matches(kind: Kind, allowed: bool, answer: Response, rule: Rule) -> bool:
    if kind in REFUSED_OUTRIGHT:
        return answer.status_code == 401
    if allowed:
        return answer.status_code not in (401, 403, 404) and not (
            rule.refused is not None and rule.refused(answer)
        )
    return answer.status_code in (401, 403, 404) or (
        rule.refused is not None and rule.refused(answer)
    )


@pytest.fixture
def world(client: TestClient, container: Container) -> World:
    uow_factory = container.uow_factory
    for role, org_id in ROLE_ORG.items():
        users.add_user(
            uow_factory(), RCC, User(f"matrix-{role}", f"matrix-{role}", "", role, org_id)
        )
    users.add_user(
        uow_factory(),
        RCC,
        User("matrix-bystander", "matrix-bystander", "", Role.VIEWER, OWN_SCHOOL),
    )
    for role, org_id in ROLE_ORG.items():  # each role once more, then deactivated
        gone = f"matrix-gone-{role}"
        users.add_user(uow_factory(), RCC, User(gone, gone, "", role, org_id))
        users.set_user_active(uow_factory(), RCC, gone, False)
    now = container.clock.now()
    sides = {}
    assert container.engine is not None
    health = SqlHealthStore(container.engine)
    for subtree, (school_id, net, terminal, camera) in {
        Subtree.OWN: (OWN_SCHOOL, "kem-net-20", "term-kem-20", "cam-kem-20"),
        Subtree.FOREIGN: (FOREIGN_SCHOOL, "nvk-net-5", "term-nvk-5", "cam-nvk-5"),
    }.items():
        booked = booking_service.create_booking(
            uow_factory(),
            RCC,
            BookingRequest(
                title="Физика, 10 класс",
                kind=SessionKind.FULL_BROADCAST,
                host_school_id=school_id,
                owner_org_id=school_id,
                teacher="Иванова Мария Петровна",
                participants=[Participant(school_id, terminal, "board")],
                on_date=date(2026, 9, 15),
                lesson_number=3,
            ),
            now=now,
        )
        with uow_factory() as uow:
            org = uow.organisations.get(school_id)
        assert org is not None
        alert = health.open_new_alert(
            DeviceKind.TERMINAL, terminal, HealthState.DOWN, "connection refused", org.path, now
        )
        sides[subtree] = Side(
            school_id, net, terminal, camera, booked.booking.id, booked.occurrences[0].id, alert.id
        )
    bystander = users.find_user(uow_factory(), "matrix-bystander")
    assert bystander is not None
    feed = issue_recorded(
        container.tokens, uow_factory, users.principal_of(uow_factory(), bystander),
        now=now, ttl=timedelta(days=365), scope=Scope.FEED,
    )  # fmt: skip
    return World(
        container,
        client,
        sides,
        headers(container, principal_of(container, Role.RCC_OPERATOR)),
        feed.jti,
    )


def principal_of(container: Container, role: Role) -> Principal:
    user = users.find_user(container.uow_factory(), f"matrix-{role}")
    assert user is not None
    return users.principal_of(container.uow_factory(), user)


def headers(container: Container, principal: Principal, scope: Scope = Scope.API) -> dict[str, str]:
    """A login token, or a recorded feed token (an unrecorded one is refused)."""
    if scope is Scope.FEED:
        token = issue_recorded(
            container.tokens, container.uow_factory, principal,
            now=container.clock.now(), ttl=timedelta(hours=1), scope=scope,
        )  # fmt: skip
    else:
        token = container.tokens.issue(
            principal, now=container.clock.now(), ttl=timedelta(hours=1), scope=scope
        )
    return {"Authorization": f"Bearer {token.value}"}


def send(client: TestClient, call: Call, auth: dict[str, str]) -> Response:
    return client.request(
        call.method, call.path, params=call.params, json=call.json, headers={**call.headers, **auth}
    )


# --- the specifications --------------------------------------------------------------------------
def test_every_route_is_classified(container: Container) -> None:
    found = operations(container)

    assert found - set(ROUTES) - set(UNGUARDED) == set(), "classify the new operations"
    assert set(ROUTES) | set(UNGUARDED) <= found, "ROUTES names operations that no longer exist"


@pytest.mark.parametrize("operation", sorted(ROUTES))
def test_every_role_is_allowed_or_refused_as_the_role_table_says(
    world: World, container: Container, client: TestClient, operation: str
) -> None:
    rule = ROUTES[operation]
    principals = {role: principal_of(container, role) for role in Role}
    wrong = []
    for kind in Kind:
        for role, principal in principals.items():
            for subtree in Subtree:
                target = None
                if rule.target is not None:
                    with container.uow_factory() as uow:
                        target = uow.organisations.get(rule.target(world.side(subtree)))
                allowed = expected_allowed(kind, operation, principal, rule, target)

                answer = send(
                    client, rule.call(world, subtree), credentials(container, kind, principal)
                )

                if not outcome_matches(kind, allowed, answer, rule):
                    wrong.append(
                        f"{kind}, {role}, {subtree} subtree: expected"
                        f" {'allowed' if allowed else 'refused'}, got {answer.status_code}"
                        f" {answer.text[:200]}"
                    )
                if rule.target is None:
                    break  # the same call for both subtrees
            if kind is Kind.ANONYMOUS:
                break  # no principal: once is enough
    assert wrong == [], f"{operation}:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    "feed",
    ["calendars/terminals/term-kem-20.ics", "calendars/schools/kem-school-20.ics",
     "calendars/teachers/Иванова Мария Петровна.ics"],
)  # fmt: skip
def test_feed_tokens_read_only_calendar_feeds(
    world: World, container: Container, client: TestClient, feed: str
) -> None:
    for role in Role:
        token = issue_recorded(
            container.tokens, container.uow_factory, principal_of(container, role),
            now=container.clock.now(), ttl=timedelta(days=365), scope=Scope.FEED,
        )  # fmt: skip

        answer = client.get(f"{API}/{feed}", params={"token": token.value})

        assert answer.status_code == 200, (role, answer.text)
        assert answer.headers["content-type"].startswith("text/calendar")
