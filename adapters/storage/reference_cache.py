"""Reference data kept per process, checked against the database's change counters.

Every booking reads the same reference data — the schools and terminals it names, the
academic year, the bell schedule, closures, the conference servers, the longest stored
span — and it changes a few times a day. Availability for a whole region reads every
terminal (10,000 rows). The database counts every change to these tables itself
(triggers bump `change_counters`: revisions 0300, 0400 and 0500), so one small read per
transaction tells whether a copy kept in this process is still current, whoever made the
change: another API process, a worker, `vks import`, plain SQL.

What is kept:
- rows (`kept_rows`, `kept_by_id`): immutable; repositories build fresh domain objects
  from them on each read, so a caller may change what it gets and `update` it;
- computed answers (`kept`, the region's inventory): shared, read them only.

A unit of work that has changed a counted table itself (uncommitted) neither uses nor
fills the copies of that table's counter: its view is its own, and it may still roll
back. Writers of counted tables mark that (`mark_changed`); `SqlCollection` does it for
its add/update, and `forget_changes` ends it with the transaction.

Planning on the copies as last seen (`assume_counters`, a create's unit of work, ADR
0023): before its transaction begins, a unit of work may take the counters this process
read last instead of reading them first; the counters of the copies it uses are noted.
Its rules' reads then send the counters' SELECT first in their pipeline (`checked_with`,
`confirm`): if a copy it used has changed, `ReferenceChanged` — the service plans again,
in the same transaction, on the counters now read. A copy missing from this process
while assuming is no reason to guess: the counters are read (and checked) there and then.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from threading import Lock
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Row, select

from adapters.storage.sent_together import Statement, begin_reading
from adapters.storage.tables import change_counters
from booking.errors import ReferenceChanged

# table → the counter its triggers bump (revision 0400 keeps the database's triggers to it)
COUNTERS: dict[str, str] = {
    "terminals": "inventory",
    "organisations": "inventory",
    "academic_years": "calendar",
    "bell_schedules": "calendar",
    "closures": "calendar",
    "conference_servers": "servers",
    "time_bounds": "time_bounds",
    "users": "users",  # revision 0500: each request checks its caller's user
    "issued_tokens": "tokens",  # … and its feed or service-account token
}
COUNTER_NAMES = tuple(sorted(set(COUNTERS.values())))
CHANGED = "vks.counted_changes"  # in the DBAPI connection's `info`: counters this UoW moved
READ = "vks.counters"  # (transaction, {counter: value}) read once per transaction
USED = "vks.assumed"  # counters a unit of work planning on assumed ones has relied on
ASSUMED = object()  # READ's first element while the counters are assumed, not read
KEPT = 64  # copies remembered per process (the inventory of ≤ 16 subtrees, tables…)

_ALL = select(change_counters.c.name, change_counters.c.value)
COUNTERS_SQL = "SELECT name, value FROM change_counters"
_kept: OrderedDict[tuple[Any, ...], tuple[int, Any]] = OrderedDict()
_lock = Lock()
_databases: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()
_last_seen: dict[str, dict[str, int]] = {}  # database → the counters this process read last
V = TypeVar("V")


def mark_changed(connection: Connection, table: str) -> None:
    """This unit of work writes `table` (until it commits or ends)."""
    counter = COUNTERS.get(table)
    if counter is not None:
        connection.info.setdefault(CHANGED, set()).add(counter)


def forget_changes(connection: Connection) -> None:
    connection.info.pop(CHANGED, None)
    connection.info.pop(READ, None)
    connection.info.pop(USED, None)


def assume_counters(connection: Connection) -> bool:
    """Plan on the counters this process read last, until `confirm` (PostgreSQL, before
    the transaction begins, when the process has read them once). False: nothing
    changed, the counters are read as usual."""
    if connection.dialect.name != "postgresql" or connection.in_transaction():
        return False
    seen = _last_seen.get(_database(connection))
    if seen is None or READ in connection.info:
        return False
    connection.info[READ] = (ASSUMED, seen)
    connection.info[USED] = set()
    return True


def assuming(connection: Connection) -> bool:
    memo = connection.info.get(READ)
    return memo is not None and memo[0] is ASSUMED


def checked_with(connection: Connection) -> list[Statement]:
    """The statement to send first with the next reads while the counters are assumed
    (its rows go to `confirm`); none otherwise."""
    return [(COUNTERS_SQL, [])] if assuming(connection) else []


def confirm(connection: Connection, rows: Sequence[tuple[Any, ...]] | None = None) -> None:
    """The counters as this transaction reads them (`rows`, or read now) replace the
    assumed ones; ReferenceChanged if one of the copies used was of another version."""
    memo = connection.info.get(READ)
    if memo is None or memo[0] is not ASSUMED:
        return
    del connection.info[READ]
    used = connection.info.pop(USED, set())
    if rows is None:
        values = _read_counters(connection)
    else:
        values = {str(name): int(value) for name, value in rows}
        _last_seen[_database(connection)] = values
    connection.info[READ] = (connection.get_transaction(), values)
    if any(memo[1].get(counter) != values.get(counter) for counter in used):
        raise ReferenceChanged(f"reference data changed: {', '.join(sorted(used))}")


def _version(connection: Connection, table: str) -> int | None:
    """The counter of `table` as this transaction first read it; None: keep no copy (this
    unit of work changed the table, or the database has no such counter)."""
    counter = COUNTERS[table]
    if counter in connection.info.get(CHANGED, ()):
        return None
    memo = connection.info.get(READ)
    if memo is not None and memo[0] is ASSUMED:
        connection.info[USED].add(counter)
        assumed: int | None = memo[1].get(counter)
        return assumed
    transaction = connection.get_transaction()
    if memo is None or transaction is None or memo[0] is not transaction:
        values = _read_counters(connection)
        memo = (connection.get_transaction(), values)
        connection.info[READ] = memo
    version: int | None = memo[1].get(counter)
    return version


def _read_counters(connection: Connection) -> dict[str, int]:
    """Every counter; as a transaction's first statement on PostgreSQL, sent with its
    BEGIN (one round trip, `sent_together.begin_reading`)."""
    rows = begin_reading(connection, COUNTERS_SQL)
    if rows is None:
        values = {name: value for name, value in connection.execute(_ALL)}
    else:
        values = {str(name): int(str(value)) for name, value in rows}
    _last_seen[_database(connection)] = values
    return values


def _database(connection: Connection) -> str:
    """The database's address, the first part of every key (rendered once per engine)."""
    engine = connection.engine
    name = _databases.get(engine)
    if name is None:
        name = _databases[engine] = engine.url.render_as_string(hide_password=True)
    return name


def _lookup(whole: tuple[Any, ...], version: int) -> Any:
    with _lock:
        kept = _kept.get(whole)
        if kept is None or kept[0] != version:
            return None
        _kept.move_to_end(whole)
        return kept[1]


def _keep(whole: tuple[Any, ...], version: int, value: Any) -> None:
    with _lock:
        _kept[whole] = (version, value)
        _kept.move_to_end(whole)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)


def kept(connection: Connection, table: str, key: tuple[Any, ...], read: Callable[[], V]) -> V:
    """`read()`'s answer for `key`, from this process's copy while the counter of `table`
    is unchanged. The answer is shared between requests: never change it."""
    version = _version(connection, table)
    if version is None:
        return read()
    return _kept_at(connection, table, key, version, read)


def _kept_at(
    connection: Connection, table: str, key: tuple[Any, ...], version: int, read: Callable[[], V]
) -> V:
    whole = (_database(connection), table, *key)
    found = _lookup(whole, version)
    if found is None and assuming(connection):  # no copy to rely on: read the counters
        confirm(connection)
        return kept(connection, table, key, read)
    if found is None:
        found = read()
        _keep(whole, version, found)
    return found


def kept_rows(
    connection: Connection, table: str, read: Callable[[], Sequence[Row[Any]]]
) -> Sequence[Row[Any]]:
    """Every row of a small table (`read()`), kept while its counter is unchanged."""
    return kept(connection, table, ("rows",), lambda: tuple(read()))


def kept_by_id(
    connection: Connection, table: str, read: Callable[[], Iterable[Row[Any]]]
) -> Mapping[str, Row[Any]] | None:
    """Every row of a reference table by id (`read()` fetches them all), kept while the
    table's counter is unchanged; None when this unit of work must read for itself (it
    changed the table). The tables are small enough to keep whole — the region's 10,000
    terminals are a few megabytes — and then an unknown id costs no query either."""
    version = _version(connection, table)
    if version is None:
        return None
    return _kept_at(connection, table, ("by id",), version, lambda: {r.id: r for r in read()})
