"""Which region is this: the root of the organisation tree (the RCC) that a database holds,
for the entry points that act as the RCC before anyone has logged in (`vks token create`
and `vks user create` without `--org`) and for telling an empty database from a loaded one.

It needs no principal: it names the region, it grants nothing. Every organisation's `path`
starts with its region's id (booking/organisations.py), so any one organisation leads to
it: two reads, whatever the size of the tree."""

from __future__ import annotations

from booking.organisations import Organisation
from booking.repository import UnitOfWork


def find_region(uow: UnitOfWork) -> Organisation | None:
    """The region, or None while the database holds no organisation. A region file holds one
    region; were there several, this is the region of the first organisation by id."""
    with uow:
        first = uow.organisations.list(0, 1)
        if not first:
            return None
        return uow.organisations.get(first[0].path.split("/", 1)[0])
