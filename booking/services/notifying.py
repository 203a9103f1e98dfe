"""Telling people: domain events become notices (`booking.notices`), notices become inbox
items and outbox messages, one per person, in one unit of work.

`subscribe` puts one handler on the message bus for every event: after a commit, an event
with a describer in `booking.notices.REGISTRY` (of its type or a base) is described and
told — whatever registered the describer and whenever (a feature's module registers at
import time). Recipients are the ACTIVE users of the notice's organisation in its roles
and the users it names; a person hears a fact once (`Notice.key`), whichever notices and
handler retries bring it again. Each person hears it in the inbox, and by e-mail and the
webhook as they chose (`booking.notifications.channels_for`); a flood of non-urgent
e-mails is folded into a digest.

The inbox's own use cases (list, unread count, mark read, preferences) are here too, and
the deadlines' reminders (`send_reminders`, run by a periodic job).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import booking.booking_notices  # registers the describers of booking events
import booking.lesson_notices  # registers the describers of lesson facts
import booking.workflow.notices  # noqa: F401  (registers the describers of the request workflow)
from booking.access import Action, Principal, authorize
from booking.errors import InvalidInput, NotFound
from booking.events import Event
from booking.messagebus import MessageBus
from booking.notices import REGISTRY, Notice, Registry
from booking.notifications import (
    EVERY_KIND,
    Channel,
    Deadline,
    Delivery,
    DigestRule,
    InboxItem,
    channels_for,
    check_kind,
)
from booking.paging import Page, check_page
from booking.repository import UnitOfWork
from booking.services.plans import check_aware
from booking.users import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifyConfig:
    """How notices leave: the digest rule, the channels that exist besides the inbox
    (e-mail when an SMTP server is configured, the webhook when its URL is), and the
    address of the web interface that links are relative to."""

    digest: DigestRule = field(default_factory=lambda: DigestRule(5, timedelta(minutes=15)))
    channels: frozenset[Channel] = frozenset({Channel.EMAIL, Channel.WEBHOOK})
    base_url: str = ""
    registry: Registry = field(default_factory=lambda: REGISTRY)


def new_id() -> str:
    return uuid.uuid4().hex


# --- telling ---------------------------------------------------------------------------------
def recipients(uow: UnitOfWork, notice: Notice) -> list[User]:
    """The active users a notice reaches: of its organisation in its roles (every role when
    none is named) and those it names; each once, by id."""
    found: dict[str, User] = {}
    if notice.org_id is not None:
        for user in uow.users.of_orgs([notice.org_id]):
            if not notice.roles or user.role in notice.roles:
                found[user.id] = user
    for user_id in notice.user_ids:
        named = uow.users.get(user_id)
        if named is not None:
            found[named.id] = named
    return [found[i] for i in sorted(found) if found[i].active]


def message_text(notice: Notice, base_url: str) -> str:
    """The e-mail (and webhook) text of a notice: Russian first, English second."""
    lines = [notice.title_ru]
    if notice.body_ru:
        lines += ["", notice.body_ru]
    if notice.link:
        lines += ["", f"Подробнее / Details: {base_url.rstrip('/')}{notice.link}"]
    lines += ["", "—", notice.title_en]
    if notice.body_en:
        lines += ["", notice.body_en]
    return "\n".join(lines) + "\n"


def tell(
    uow: UnitOfWork, notices: Iterable[Notice], *, now: datetime, config: NotifyConfig
) -> list[InboxItem]:
    """Put the notices in their recipients' inboxes and their outgoing messages in the
    outbox (inside the caller's unit of work, which commits); the inbox items stored (a
    fact a person already has is skipped)."""
    stored: list[InboxItem] = []
    for notice in notices:
        for user in recipients(uow, notice):
            item = InboxItem(
                id=new_id(),
                user_id=user.id,
                kind=notice.kind,
                key=notice.key,
                title_ru=notice.title_ru,
                title_en=notice.title_en,
                body_ru=notice.body_ru,
                body_en=notice.body_en,
                link=notice.link,
                urgent=notice.urgent,
                created_at=now,
            )
            if not uow.notifications.add(item):
                continue
            stored.append(item)
            chosen = channels_for(uow.notifications.preferences(user.id), notice.kind)
            uow.notifications.enqueue(
                _deliveries(uow, notice, item, user, chosen & config.channels, now, config)
            )
    return stored


def _deliveries(
    uow: UnitOfWork,
    notice: Notice,
    item: InboxItem,
    user: User,
    channels: frozenset[Channel],
    now: datetime,
    config: NotifyConfig,
) -> list[Delivery]:
    text = message_text(notice, config.base_url)
    data = {
        "notification_id": item.id,
        "kind": notice.kind,
        "key": notice.key,
        "urgent": notice.urgent,
        "title_ru": notice.title_ru,
        "title_en": notice.title_en,
        "body_ru": notice.body_ru,
        "body_en": notice.body_en,
        "link": notice.link,
        "user": {"id": user.id, "username": user.username, "role": str(user.role)},
        "org_id": user.org_id,
    }
    out: list[Delivery] = []

    def delivery(channel: Channel, address: str, due_at: datetime, digest: bool) -> Delivery:
        return Delivery(
            id=new_id(),
            user_id=user.id,
            channel=channel,
            notification_id=item.id,
            kind=notice.kind,
            address=address,
            subject=f"[ВКС] {notice.title_ru}",
            text=text,
            data=data,
            urgent=notice.urgent,
            digest=digest,
            due_at=due_at,
            created_at=now,
        )

    if Channel.EMAIL in channels and user.email:
        due_at, digest = now, False
        if not notice.urgent:
            window = config.digest.window
            if uow.notifications.emails_since(user.id, now - window) >= config.digest.after:
                digest = True
                due_at = uow.notifications.pending_digest_due(user.id) or now + window
        out.append(delivery(Channel.EMAIL, user.email, due_at, digest))
    if Channel.WEBHOOK in channels:
        out.append(delivery(Channel.WEBHOOK, "", now, False))
    return out


def notify_event(
    uow: UnitOfWork, event: Event, *, now: datetime, config: NotifyConfig
) -> list[InboxItem]:
    """Describe `event` with the registered describers and tell its notices (committed)."""
    with uow:
        notices = config.registry.describe(event, uow)
        if not notices:
            return []
        stored = tell(uow, notices, now=now, config=config)
        uow.commit()
        return stored


def described(event: Event, registry: Registry = REGISTRY) -> bool:
    """Has `event` a describer (of its type or a base)?"""
    return any(isinstance(event, kind) for kind in registry.event_types())


def subscribe(
    bus: MessageBus,
    uow_factory: Callable[[], UnitOfWork],
    now: Callable[[], datetime],
    config: NotifyConfig | None = None,
) -> Callable[[Event], None]:
    """Tell people about every described event published on `bus` (after its commit).

    One handler for every `Event`: describers registered after this call (a module
    imported later) are honoured too. Returns the handler (to unsubscribe)."""
    settled = config or NotifyConfig()

    def handle(event: Event) -> None:
        if described(event, settled.registry):
            notify_event(uow_factory(), event, now=now(), config=settled)

    bus.subscribe(Event, handle)
    return handle


# --- the inbox -------------------------------------------------------------------------------
def inbox_page(
    uow: UnitOfWork,
    principal: Principal,
    *,
    unread_only: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> Page[InboxItem]:
    """The caller's own notifications, newest first."""
    check_page(offset, limit)
    with uow:
        store = uow.notifications
        return Page(
            items=list(
                store.of_user(
                    principal.user_id, unread_only=unread_only, offset=offset, limit=limit
                )
            ),
            total=store.count(principal.user_id, unread_only=unread_only),
        )


def unread_count(uow: UnitOfWork, principal: Principal) -> int:
    with uow:
        return uow.notifications.count(principal.user_id, unread_only=True)


def mark_read(
    uow: UnitOfWork, principal: Principal, notification_id: str, *, now: datetime
) -> InboxItem:
    """Mark one of the caller's notifications read (again: no change)."""
    check_aware(now, "now")
    with uow:
        item = uow.notifications.get(notification_id)
        if item is None or item.user_id != principal.user_id:  # others' are not even named
            raise NotFound(
                f"unknown notification {notification_id}", notification_id=notification_id
            )
        if uow.notifications.mark_read(principal.user_id, [notification_id], now):
            uow.commit()
            item.read_at = now
        return item


def mark_all_read(uow: UnitOfWork, principal: Principal, *, now: datetime) -> int:
    """Mark every unread notification of the caller read; how many were unread."""
    check_aware(now, "now")
    with uow:
        done = uow.notifications.mark_read(principal.user_id, None, now)
        uow.commit()
        return done


# --- preferences -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Preferences:
    email: str | None
    channels: Mapping[str, frozenset[Channel]]


def preferences(uow: UnitOfWork, principal: Principal) -> Preferences:
    with uow:
        user = uow.users.get(principal.user_id)
        return Preferences(
            email=user.email if user is not None else None,
            channels=uow.notifications.preferences(principal.user_id),
        )


def set_preferences(
    uow: UnitOfWork,
    principal: Principal,
    chosen: Mapping[str, Iterable[Channel]],
    *,
    email: str | None = None,
    change_email: bool = False,
) -> Preferences:
    """Replace the caller's channels per notice kind (`*`: every other kind); the inbox
    is always on. `change_email` sets the caller's address too (None removes it)."""
    cleaned: dict[str, frozenset[Channel]] = {}
    for kind, channels in chosen.items():
        name = EVERY_KIND if kind == EVERY_KIND else check_kind(kind)
        cleaned[name] = frozenset(channels) | {Channel.INBOX}
    if change_email and email is not None:
        email = email.strip() or None
        if email is not None and ("@" not in email or len(email) > 254 or " " in email):
            raise InvalidInput(f"not an e-mail address: {email!r}", field="email")
    with uow:
        user = uow.users.get(principal.user_id)
        if change_email:
            if user is None:
                raise NotFound(f"unknown user {principal.user_id}", user_id=principal.user_id)
            user.email = email
            user.version += 1
            uow.users.update(user)
        uow.notifications.set_preferences(principal.user_id, cleaned)
        uow.commit()
        return Preferences(email=user.email if user else None, channels=cleaned)


# --- deadlines and reminders -----------------------------------------------------------------
def add_deadline(
    uow: UnitOfWork, principal: Principal, deadline: Deadline, *, now: datetime
) -> Deadline:
    """The RCC sets a deadline (its scope must exist; reminding starts `remind_days` before)."""
    from booking.services.auditing import audit

    authorize(principal, Action.MANAGE_DEADLINES)
    check_aware(now, "now")
    if deadline.remind_days < 0 or deadline.remind_days > 365:
        raise InvalidInput("remind_days is 0…365", field="remind_days")
    if not deadline.period.strip():
        raise InvalidInput("a deadline names its period", field="period")
    check_kind(deadline.kind)
    with uow:
        scope = uow.organisations.get(deadline.scope_org_id)
        if scope is None:
            raise InvalidInput(
                f"unknown organisation {deadline.scope_org_id}", field="scope_org_id"
            )
        deadline.created_by, deadline.created_at = principal.user_id, now
        uow.notifications.add_deadline(deadline)
        audit(
            uow, principal, "deadline.set", "deadline", deadline.id, scope.path, now=now,
            summary=f"{deadline.kind} {deadline.period}: до {deadline.due_on.isoformat()}",
        )  # fmt: skip
        uow.commit()
        return deadline


def deadlines(uow: UnitOfWork, principal: Principal) -> list[Deadline]:
    """The deadlines of the caller's scope (its subtree or above it: those it must meet)."""
    from booking.access import scope_of

    with uow:
        found = uow.notifications.deadlines()
        scope = scope_of(principal)
        if scope is None:
            return found
        orgs = uow.organisations.get_many({d.scope_org_id for d in found})
        return [
            d
            for d in found
            if d.scope_org_id in orgs
            and (
                principal.covers(orgs[d.scope_org_id].path)
                or scope.startswith(orgs[d.scope_org_id].path + "/")
            )
        ]


def delete_deadline(
    uow: UnitOfWork, principal: Principal, deadline_id: str, *, now: datetime
) -> None:
    from booking.services.auditing import audit

    authorize(principal, Action.MANAGE_DEADLINES)
    with uow:
        found = uow.notifications.deadline(deadline_id)
        if found is None:
            raise NotFound(f"unknown deadline {deadline_id}", deadline_id=deadline_id)
        scope = uow.organisations.get(found.scope_org_id)
        uow.notifications.delete_deadline(deadline_id)
        audit(
            uow, principal, "deadline.deleted", "deadline", deadline_id,
            scope.path if scope else "", now=now, summary=f"{found.kind} {found.period}",
        )  # fmt: skip
        uow.commit()


def reminder(deadline: Deadline, users: Sequence[User]) -> Notice:
    what = deadline.title or deadline.kind
    due = deadline.due_on.strftime("%d.%m.%Y")
    return Notice(
        kind="deadline.reminder",
        key=f"deadline.reminder:{deadline.id}",
        org_id=None,
        user_ids=tuple(u.id for u in users),
        title_ru=f"Срок: {what} ({deadline.period}) — до {due}",
        title_en=f"Deadline: {what} ({deadline.period}) — due by {deadline.due_on.isoformat()}",
        body_ru=f"Осталось дней: {deadline.remind_days}. Срок установлен РКЦ.",
        body_en=f"{deadline.remind_days} day(s) left. The deadline was set by the RCC.",
        link=f"/api/v1/deadlines/{deadline.id}",
    )


def send_reminders(uow: UnitOfWork, *, now: datetime, config: NotifyConfig) -> list[str]:
    """Remind the people of every deadline whose reminder day has come (once each: the
    deadline is marked reminded in the same unit of work); the deadlines reminded."""
    check_aware(now, "now")
    done: list[str] = []
    with uow:
        for deadline in uow.notifications.deadlines():
            if not deadline.due_for_reminder(now.date()):
                continue
            if not uow.notifications.reminded(deadline.id, now):
                continue  # another process reminded meanwhile
            scope = uow.organisations.get(deadline.scope_org_id)
            if scope is None:
                continue
            orgs = [o.id for o in uow.organisations.subtree(scope.path)]
            users = [
                u
                for u in uow.users.of_orgs(orgs)
                if u.active and (not deadline.roles or u.role in deadline.roles)
            ]
            tell(uow, [reminder(deadline, users)], now=now, config=config)
            done.append(deadline.id)
        uow.commit()
    if done:
        log.info("reminded of %d deadlines", len(done))
    return done
