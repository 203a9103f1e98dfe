"""Publishing a network timetable: the network administrator sends a set of offers for a
period to the network's schools. Each publication is a version; republishing after a
change tells the schools whose requests name a changed or removed offer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from booking.access import Action, Principal, authorize
from booking.errors import InvalidInput, NotFound
from booking.services.changes import new_id
from booking.services.lookups import Lookups
from booking.services.workflow.trail import told
from booking.workflow.events import TimetablePublished
from booking.workflow.store import WorkflowUnitOfWork
from booking.workflow.timetables import Timetable, next_version


def current_timetable(uow: WorkflowUnitOfWork, network_id: str) -> Timetable | None:
    versions = uow.workflow.timetables.find(org_ids=[network_id])
    return max(versions, key=lambda t: t.version) if versions else None


def publish(
    uow: WorkflowUnitOfWork,
    principal: Principal | None,
    network_id: str,
    offer_ids: Iterable[str],
    *,
    starts_on: date,
    ends_on: date,
    now: datetime,
    by: str,
) -> Timetable:
    """Write the next version inside the caller's unit of work (no commit)."""
    lookups = Lookups(uow)
    network = lookups.org(network_id)
    if principal is not None:
        authorize(principal, Action.PUBLISH, [network])
    ids = list(dict.fromkeys(offer_ids))
    offers = uow.workflow.offers.get_many(ids)
    unknown = [i for i in ids if i not in offers]
    if unknown:
        raise NotFound(f"unknown offer {', '.join(unknown)}", ids=unknown)
    foreign = [o.id for o in offers.values() if o.network_id != network.id]
    if foreign:
        raise InvalidInput(
            f"offers {', '.join(foreign)} belong to another network", field="offer_ids"
        )
    previous = current_timetable(uow, network.id)
    timetable = next_version(
        previous,
        id=new_id(),
        network_id=network.id,
        starts_on=starts_on,
        ends_on=ends_on,
        offers={i: offers[i].version for i in ids},
        at=now,
        by=by,
    )
    uow.workflow.timetables.add(timetable)
    event = TimetablePublished(
        timetable.id, network.id, timetable.version, timetable.change.affected
    )
    if principal is None:
        uow.record(event)
    else:
        told(uow, principal, event, now=now)
    return timetable


def publish_timetable(
    uow: WorkflowUnitOfWork,
    principal: Principal,
    network_id: str,
    offer_ids: Iterable[str],
    *,
    starts_on: date,
    ends_on: date,
    now: datetime,
) -> Timetable:
    with uow:
        timetable = publish(
            uow,
            principal,
            network_id,
            offer_ids,
            starts_on=starts_on,
            ends_on=ends_on,
            now=now,
            by=principal.user_id,
        )
        uow.commit()
        return timetable


def get_timetable(uow: WorkflowUnitOfWork, principal: Principal, network_id: str) -> Timetable:
    """The network's current version (what its schools request from)."""
    with uow:
        authorize(principal, Action.READ)
        Lookups(uow).org(network_id)
        found = current_timetable(uow, network_id)
        if found is None:
            raise NotFound(f"network {network_id} has published no timetable")
        return found
