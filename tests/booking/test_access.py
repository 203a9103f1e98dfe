"""Roles and organisation subtrees."""

from __future__ import annotations

import pytest

from booking.access import Action, Principal, Role, authorize
from booking.errors import Forbidden
from booking.organisations import Organisation, OrgKind


def org(path: str, kind: OrgKind = OrgKind.SCHOOL) -> Organisation:
    return Organisation(path.rsplit("/", 1)[-1], kind, path, None, path, "Asia/Novokuznetsk")


SCHOOL_20 = org("kuzbass/kemerovo/kem-net-1/kem-school-20")
SCHOOL_5 = org("kuzbass/novokuznetsk/nvk-net-1/nvk-school-5")


def who(role: Role, path: str) -> Principal:
    return Principal("u", role, path.rsplit("/", 1)[-1], path)


def test_the_rcc_operator_may_do_everything_everywhere() -> None:
    for action in Action:
        authorize(who(Role.RCC_OPERATOR, "kuzbass"), action, [SCHOOL_20, SCHOOL_5])


def test_a_network_admin_books_within_the_network_only() -> None:
    admin = who(Role.NETWORK_ADMIN, "kuzbass/kemerovo/kem-net-1")

    authorize(admin, Action.BOOK, [SCHOOL_20])
    with pytest.raises(Forbidden, match="outside the scope"):
        authorize(admin, Action.BOOK, [SCHOOL_20, SCHOOL_5])


def test_a_prefix_that_is_not_a_path_boundary_does_not_count() -> None:
    admin = who(Role.NETWORK_ADMIN, "kuzbass/kemerovo/kem-net-1")
    lookalike = org("kuzbass/kemerovo/kem-net-10/kem-school-3")

    with pytest.raises(Forbidden):
        authorize(admin, Action.BOOK, [lookalike])


@pytest.mark.parametrize("role", [Role.VIEWER, Role.TEACHER])
def test_viewers_and_teachers_only_read(role: Role) -> None:
    reader = who(role, "kuzbass")

    authorize(reader, Action.READ, [SCHOOL_20])
    with pytest.raises(Forbidden, match="may not book"):
        authorize(reader, Action.BOOK, [SCHOOL_20])


def test_a_scheduler_books_in_its_subtree_but_manages_nothing() -> None:
    scheduler = who(Role.SCHEDULER, "kuzbass/kemerovo")

    authorize(scheduler, Action.BOOK, [SCHOOL_20])
    with pytest.raises(Forbidden):
        authorize(scheduler, Action.MANAGE_INVENTORY, [SCHOOL_20])


def test_a_local_coordinator_acts_for_their_school_only() -> None:
    coordinator = who(Role.LOCAL_COORDINATOR, SCHOOL_20.path)

    authorize(coordinator, Action.BOOK, [SCHOOL_20])
    with pytest.raises(Forbidden):
        authorize(coordinator, Action.BOOK, [org("kuzbass/kemerovo/kem-net-1")])
