"""The lock files (`make lock`) agree with pyproject.toml: a fresh machine installs from
requirements/test.txt exactly what CI tested, so every declared requirement must be pinned
there within its range; requirements/prod.txt pins the service's own at the same versions
and nothing of the simulators' extra or the test runner. A dependency added to
pyproject.toml without `make lock` fails here, not on a fresh machine."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.packaging.test_dependencies import ROOT, names, requirements

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(lock: Path) -> dict[str, set[Version]]:
    """Name → the versions pinned (more than one where a marker forks the resolution)."""
    found: dict[str, set[Version]] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            found.setdefault(canonicalize_name(match[1]), set()).add(Version(match[2]))
    return found


def unmet(declared: list[Requirement], pinned: dict[str, set[Version]]) -> list[str]:
    return [
        str(r)
        for r in declared
        if r.name != "vks"
        and not any(
            r.specifier.contains(v, prereleases=True)
            for v in pinned.get(canonicalize_name(r.name), ())
        )
    ]


def test_the_test_lock_pins_every_declared_requirement_within_its_range() -> None:
    locked = pins(ROOT / "requirements" / "test.txt")
    declared = requirements(None) + requirements("sim") + requirements("test")

    assert unmet(declared, locked) == []


def test_the_production_lock_is_the_service_alone_at_the_tested_versions() -> None:
    tested = pins(ROOT / "requirements" / "test.txt")
    production = pins(ROOT / "requirements" / "prod.txt")

    assert unmet(requirements(None), production) == []
    assert {name: production[name] - tested.get(name, set()) for name in production} == {
        name: set() for name in production
    }
    assert "pillow" in names("sim") and production.keys().isdisjoint(names("sim") | {"pytest"})
