"""Who must hear of each workflow event, in Russian and English, with a link to act on it
(the contract of `booking.notices`; the notification service delivers them)."""

from __future__ import annotations

from collections.abc import Iterable
from zlib import crc32

from booking.access import Role
from booking.notices import Notice, describes
from booking.repository import UnitOfWork
from booking.workflow.events import (
    CombinedRequestDecided,
    CombinedRequestSubmitted,
    NeedInvitationAnswered,
    NeedInvitationSent,
    RequestDecided,
    RequestIncluded,
    RequestReturned,
    RequestSubmitted,
    RequestWithdrawn,
    TimetablePublished,
)

API = "/api/v1/workflow"
COORDINATORS = frozenset({Role.LOCAL_COORDINATOR})
NETWORK = frozenset({Role.NETWORK_ADMIN})
RCC = frozenset({Role.RCC_OPERATOR})

STATE_RU = {
    "approved": "одобрена",
    "partly_approved": "одобрена частично",
    "rejected": "отклонена",
}


def _name(uow: UnitOfWork, org_id: str) -> str:
    org = uow.organisations.get(org_id)
    return org.name if org else org_id


@describes(TimetablePublished)
def timetable_published(event: TimetablePublished, uow: UnitOfWork) -> Iterable[Notice]:
    name = _name(uow, event.network_id)
    network = uow.organisations.get(event.network_id)
    schools = uow.organisations.subtree(network.path) if network else []
    for school in schools:
        if school.id == event.network_id:
            continue
        yield Notice(
            kind="timetable.published",
            key=f"timetable.published:{event.timetable_id}:{school.id}",
            org_id=school.id,
            roles=COORDINATORS,
            title_ru=f"Опубликовано расписание сети «{name}» (версия {event.version})",
            title_en=f"{name} published its timetable (version {event.version})",
            body_ru="Изменены занятия: " + ", ".join(event.affected_offer_ids)
            if event.affected_offer_ids
            else "Отметьте занятия, к которым присоединится школа.",
            body_en="Changed lessons: " + ", ".join(event.affected_offer_ids)
            if event.affected_offer_ids
            else "Pick the lessons your school will join.",
            link=f"{API}/networks/{event.network_id}/timetable",
        )


@describes(RequestSubmitted)
def request_submitted(event: RequestSubmitted, uow: UnitOfWork) -> Iterable[Notice]:
    again = " повторно" if event.resubmitted else ""
    yield Notice(
        kind="request.submitted",
        key=f"request.submitted:{event.request_id}:{int(event.resubmitted)}",
        org_id=event.network_id,
        roles=NETWORK,
        title_ru=f"Заявка школы «{_name(uow, event.school_id)}» подана{again}",
        title_en=f"{_name(uow, event.school_id)} submitted its request"
        + (" again" if event.resubmitted else ""),
        body_ru="Включите её в сводную заявку или верните с комментарием.",
        body_en="Include it in the combined request or return it with a comment.",
        link=f"{API}/requests/{event.request_id}",
    )


@describes(RequestReturned)
def request_returned(event: RequestReturned, uow: UnitOfWork) -> Iterable[Notice]:
    yield Notice(
        kind="request.returned",
        key=f"request.returned:{event.request_id}:{crc32(event.comment.encode())}",
        org_id=event.school_id,
        roles=COORDINATORS,
        title_ru="Заявка возвращена на доработку",
        title_en="Your request was returned",
        body_ru=f"Комментарий: {event.comment}",
        body_en=f"Comment: {event.comment}",
        link=f"{API}/requests/{event.request_id}",
    )


@describes(RequestIncluded)
def request_included(event: RequestIncluded, uow: UnitOfWork) -> Iterable[Notice]:
    network = _name(uow, event.network_id)
    yield Notice(
        kind="request.included",
        key=f"request.included:{event.request_id}:{event.combined_id}",
        org_id=event.school_id,
        roles=COORDINATORS,
        title_ru=f"Заявка включена в сводную заявку сети «{network}»",
        title_en=f"Your request is in the combined request of {network}",
        body_ru="Сеть отправит сводную заявку в РКЦ; решение придёт сюда.",
        body_en="The network sends it to the RCC; the decision will come here.",
        link=f"{API}/requests/{event.request_id}",
    )


@describes(RequestWithdrawn)
def request_withdrawn(event: RequestWithdrawn, uow: UnitOfWork) -> Iterable[Notice]:
    yield Notice(
        kind="request.withdrawn",
        key=f"request.withdrawn:{event.request_id}",
        org_id=event.network_id,
        roles=NETWORK,
        title_ru=f"Школа «{_name(uow, event.school_id)}» отозвала заявку",
        title_en=f"{_name(uow, event.school_id)} withdrew its request",
        link=f"{API}/requests/{event.request_id}",
    )


@describes(CombinedRequestSubmitted)
def combined_submitted(event: CombinedRequestSubmitted, uow: UnitOfWork) -> Iterable[Notice]:
    network = uow.organisations.get(event.network_id)
    yield Notice(
        kind="combined.submitted",
        key=f"combined.submitted:{event.combined_id}",
        # the RCC's operators belong to the region, the root of the network's path
        org_id=network.path.split("/")[0] if network else None,
        roles=RCC,
        title_ru=f"Сводная заявка сети «{_name(uow, event.network_id)}» ждёт рассмотрения",
        title_en=f"The combined request of {_name(uow, event.network_id)} awaits review",
        body_ru=f"Заявок школ: {len(event.request_ids)}",
        body_en=f"School requests: {len(event.request_ids)}",
        link=f"{API}/combined/{event.combined_id}/review",
    )


@describes(RequestDecided)
def request_decided(event: RequestDecided, uow: UnitOfWork) -> Iterable[Notice]:
    state_ru = STATE_RU.get(event.state, event.state)
    for org_id, roles in ((event.school_id, COORDINATORS), (event.network_id, NETWORK)):
        yield Notice(
            kind="request.decided",
            key=f"request.decided:{event.request_id}:{org_id}",
            org_id=org_id,
            roles=roles,
            title_ru=f"Заявка школы «{_name(uow, event.school_id)}» {state_ru}",
            title_en=f"The request of {_name(uow, event.school_id)} is"
            f" {event.state.replace('_', ' ')}",
            body_ru=f"Причина: {event.reason}" if event.reason else "",
            body_en=f"Reason: {event.reason}" if event.reason else "",
            link=f"{API}/requests/{event.request_id}",
        )


@describes(CombinedRequestDecided)
def combined_decided(event: CombinedRequestDecided, uow: UnitOfWork) -> Iterable[Notice]:
    yield Notice(
        kind="combined.decided",
        key=f"combined.decided:{event.combined_id}",
        org_id=event.network_id,
        roles=NETWORK,
        title_ru=f"Сводная заявка {STATE_RU.get(event.state, event.state)}",
        title_en=f"The combined request is {event.state.replace('_', ' ')}",
        link=f"{API}/combined/{event.combined_id}",
    )


@describes(NeedInvitationSent)
def invitation_sent(event: NeedInvitationSent, uow: UnitOfWork) -> Iterable[Notice]:
    yield Notice(
        kind="need.invited",
        key=f"need.invited:{event.invitation_id}",
        org_id=event.network_id,
        roles=NETWORK,
        title_ru=f"Школа «{_name(uow, event.school_id)}» просится на ваше занятие",
        title_en=f"{_name(uow, event.school_id)} asks to join one of your lessons",
        body_ru="Примите школу в расписание сети или откажите.",
        body_en="Accept the school into your network timetable or decline.",
        link=f"{API}/invitations/{event.invitation_id}",
    )


@describes(NeedInvitationAnswered)
def invitation_answered(event: NeedInvitationAnswered, uow: UnitOfWork) -> Iterable[Notice]:
    yes_ru, yes_en = ("принята", "accepted") if event.accepted else ("отклонена", "declined")
    yield Notice(
        kind="need.answered",
        key=f"need.answered:{event.invitation_id}",
        org_id=event.school_id,
        roles=COORDINATORS,
        title_ru=f"Заявка по потребности {yes_ru} сетью «{_name(uow, event.network_id)}»",
        title_en=f"{_name(uow, event.network_id)} {yes_en} the school for the need",
        link=f"{API}/invitations/{event.invitation_id}",
    )
