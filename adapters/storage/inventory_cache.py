"""A process-wide copy of the terminal inventory, checked against the database's counter.

Availability for a whole region reads every terminal (10,000 rows, 10,000 objects) for
each request, and the inventory changes a few times a day. The database counts every
change to `terminals` and `organisations` itself (triggers, `change_counters`, revision
0300), so one small read tells whether a copy kept in this process is current, whoever
made the change — another API process, a worker, `vks import`, plain SQL.

A unit of work that has changed the inventory itself (uncommitted) neither uses nor fills
the copy: its view is its own, and it may still roll back. The terminals handed out are
shared between requests: read them, never change them (updates go through `get`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from threading import Lock
from typing import Any

from sqlalchemy import Connection, select

from adapters.storage.tables import change_counters
from booking.resources import Terminal

INVENTORY = "inventory"
CHANGED = "vks.inventory_changed"  # set in the DBAPI connection's `info` by a write
KEPT = 16  # subtrees remembered per process (a region, its municipalities…): ≤ 16 copies

_COUNTER = select(change_counters.c.value).where(change_counters.c.name == INVENTORY)
_kept: OrderedDict[tuple[Any, ...], tuple[int, list[Terminal]]] = OrderedDict()
_lock = Lock()


def mark_changed(connection: Connection) -> None:
    """This unit of work writes terminals or organisations (until it commits or ends)."""
    connection.info[CHANGED] = True


def forget_changes(connection: Connection) -> None:
    connection.info.pop(CHANGED, None)


def terminals_in(
    connection: Connection, key: tuple[Any, ...], read: Callable[[], list[Terminal]]
) -> Sequence[Terminal]:
    """`read()`'s answer for `key` (a subtree and a filter), from this process's copy when
    the database's inventory counter still has the value it had when the copy was made."""
    if connection.info.get(CHANGED):
        return read()
    version = connection.execute(_COUNTER).scalar()
    if version is None:  # no counter (a database emptied by hand): no copy
        return read()
    whole = (str(connection.engine.url), *key)
    with _lock:
        kept = _kept.get(whole)
        if kept is not None and kept[0] == version:
            _kept.move_to_end(whole)
            return kept[1]
    found = read()
    with _lock:
        _kept[whole] = (version, found)
        _kept.move_to_end(whole)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return found
