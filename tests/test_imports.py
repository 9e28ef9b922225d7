"""Imports point downward (docs/architecture.md): read from the source with ``ast``, so a
late or conditional import counts too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = frozenset(
    {
        "contract",
        "settings",
        "alerts",
        "store",
        "registry",
        "dispatch",
        "ingest",
        "gateways",
        "api",
        "simulators",
        "firewatch",
        "bench",
        "tests",
    }
)

# What each package may import of ours, besides itself. The order is the layering:
# contract ← domain (alerts) ← store ← services (registry, ingest, dispatch) ← gateways (which
# hand ingest their messages) ← api / cli (firewatch). Ingest never imports a gateway: the
# composition root gives it their sources.
ALLOWED: dict[str, frozenset[str]] = {
    "contract": frozenset(),
    "settings": frozenset(),
    "alerts": frozenset({"contract"}),
    "store": frozenset({"contract", "alerts"}),
    "registry": frozenset({"contract", "settings", "alerts", "store"}),
    "ingest": frozenset({"contract", "settings", "alerts", "store"}),
    "dispatch": frozenset({"contract", "settings", "alerts", "store", "registry"}),
    "gateways": frozenset({"contract", "settings", "alerts", "store", "registry", "ingest"}),
    "api": frozenset(
        {"contract", "settings", "alerts", "store", "registry", "dispatch", "ingest", "gateways"}
    ),
    "simulators": frozenset({"contract", "settings", "registry"}),
    "firewatch": OURS - {"bench", "tests"},
    "bench": OURS - {"tests"},
}
# The one module of registry/ that simulators may use: its service.
SIMULATORS_MAY_USE = frozenset({"registry.service"})


def imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imports(path):
            top = module.split(".")[0]
            if top not in OURS or top == package:
                continue
            beyond_service = (
                package == "simulators"
                and top == "registry"
                and not any(module == m or module.startswith(m + ".") for m in SIMULATORS_MAY_USE)
            )
            if top not in ALLOWED[package] or beyond_service:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_downward(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_a_wrong_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package that imports upward is reported: the check can fail."""
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "bad.py").write_text("def f():\n    from store import alerts\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert violations("alerts") == ["alerts/bad.py:2 imports store"]
