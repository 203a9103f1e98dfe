"""The monitor keeps the layers of the booking core: the service knows the storage only
through the domain's ports (the composition root names the SQL store), and the domain's
health modules import neither adapters nor the service."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports(path: Path) -> set[str]:
    """Every module a source file imports (absolute names)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def offenders(pattern: str, *forbidden: str) -> dict[str, list[str]]:
    out = {}
    for path in sorted(ROOT.glob(pattern)):
        bad = sorted(m for m in imports(path) if m.startswith(forbidden))
        if bad:
            out[str(path.relative_to(ROOT))] = bad
    return out


def test_no_module_of_the_monitor_imports_a_storage_adapter() -> None:
    assert offenders("vks/monitor/*.py", "adapters.storage", "sqlalchemy") == {}


def test_the_health_domain_imports_no_adapter_and_no_service() -> None:
    assert offenders("booking/health*.py", "adapters", "vks", "sqlalchemy") == {}
