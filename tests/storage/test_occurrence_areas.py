"""Specification: a municipality's recurring-slot search reads only its own part of the
occurrences' time index (their area key, `adapters/storage/areas.py`), so the key must
follow every change of an occurrence's terminals — here the automation's switch to a
terminal of another municipality."""

from __future__ import annotations

from adapters.storage.engine import create_engine_for
from adapters.storage.occurrences import SqlOccurrences
from adapters.storage.schema import upgrade
from adapters.storage.timetable_load import load_timetable
from adapters.storage.unit_of_work import sql_uow_factory
from tests.storage.region import kuzbass, seed, weekly_timetable

ELSEWHERE = [f"term-elsewhere-{i}" for i in range(300)]  # a municipality's worth of terminals


def test_a_lesson_switched_to_another_municipalitys_terminal_is_seen_there(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url)
    engine = create_engine_for(empty_database_url)
    factory = sql_uow_factory(engine)
    region = kuzbass()
    seed(factory, region)
    timetable = weekly_timetable(region, ["term-kem20-1"], range(2, 3))
    with factory() as uow:
        load_timetable(uow, *timetable)
        uow.commit()
    lesson = timetable[1][0]
    with factory() as uow:  # the automation's switch to a backup terminal
        SqlOccurrences(uow.connection).switch_terminal(lesson.id, "term-kem20-1", "term-insar1-1")
        uow.commit()

    try:
        with factory() as uow:
            insar = uow.occurrences.held_during(
                ["term-insar1-1", *ELSEWHERE],
                [(lesson.setup_start, lesson.end)],
                within="kuzbass/insar",
            )
    finally:
        engine.dispose()

    assert insar == {"term-insar1-1": {0}}
