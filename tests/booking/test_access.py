"""Roles and organisation subtrees."""

from __future__ import annotations

import pytest

from booking.access import Action, Principal, Role, authorize, moderates, scope_of
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


@pytest.mark.parametrize("action", [Action.OPERATE, Action.ACKNOWLEDGE])
@pytest.mark.parametrize(
    "role",
    [Role.VIEWER, Role.TEACHER, Role.SCHEDULER, Role.LOCAL_COORDINATOR, Role.NETWORK_ADMIN],
)
def test_only_operating_roles_operate_the_equipment_and_acknowledge_alerts(
    role: Role, action: Action
) -> None:
    caller = who(role, "kuzbass")

    with pytest.raises(Forbidden, match=f"may not {action}"):
        authorize(caller, action, [SCHOOL_20])


@pytest.mark.parametrize("action", [Action.OPERATE, Action.ACKNOWLEDGE])
def test_a_municipal_coordinator_operates_and_acknowledges_in_the_municipality_only(
    action: Action,
) -> None:
    coordinator = who(Role.MUNICIPAL_COORDINATOR, "kuzbass/kemerovo")

    authorize(coordinator, action, [SCHOOL_20])
    with pytest.raises(Forbidden, match="outside the scope"):
        authorize(coordinator, action, [SCHOOL_5])


def test_everyone_but_a_service_account_may_join_a_lesson_and_only_teachers_moderate() -> None:
    joiners = {role for role in Role if who(role, "kuzbass").can(Action.JOIN)}

    assert joiners == set(Role) - {Role.SCHEDULER}
    assert {role for role in Role if moderates(who(role, "kuzbass"))} == {Role.TEACHER}


def test_the_rcc_sees_the_whole_region_the_others_their_subtree() -> None:
    assert scope_of(who(Role.RCC_OPERATOR, "kuzbass")) is None
    assert scope_of(who(Role.VIEWER, "kuzbass")) == "kuzbass"
    assert scope_of(who(Role.NETWORK_ADMIN, "kuzbass/kemerovo/kem-net-1")) == (
        "kuzbass/kemerovo/kem-net-1"
    )
