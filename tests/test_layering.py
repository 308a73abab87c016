"""The one-way import rule of docs/architecture.md, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "safeguard"

#: Each layer may import the layers listed for it (and itself). Order follows the data flow.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "config": {"domain"},
    "evidence": {"domain"},
    "hashing": {"domain"},
    "interchange": {"domain", "config"},
    "matching": {"domain", "hashing"},
    "store": {"domain", "config", "hashing"},
    "triage": {"domain", "config", "evidence", "hashing", "interchange", "matching", "store"},
    "referrals": {
        "domain",
        "config",
        "evidence",
        "hashing",
        "interchange",
        "matching",
        "store",
        "triage",
    },
    "outcomes": {"domain", "config", "store"},
    "reports": {"domain", "config", "store", "referrals"},
    "demo": {"domain", "config", "hashing", "interchange"},
    "review": {"domain", "config", "store", "evidence", "hashing", "reports"},
    "web": {"domain", "config", "store", "triage", "referrals", "reports", "review", "outcomes"},
    "cli": {
        "domain",
        "config",
        "interchange",
        "store",
        "triage",
        "referrals",
        "reports",
        "demo",
        "review",
        "outcomes",
        "web",
    },
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "safeguard" and len(parts) > 1:
                found.add(parts[1])
    return found


def _layer_files() -> list[tuple[str, Path]]:
    return [
        (path.relative_to(SRC).parts[0], path)
        for path in sorted(SRC.rglob("*.py"))
        if len(path.relative_to(SRC).parts) > 1 and "migrations" not in path.parts
    ]


@pytest.mark.parametrize(("layer", "path"), _layer_files(), ids=lambda v: str(v))
def test_imports_only_layers_to_its_left(layer: str, path: Path) -> None:
    assert layer in ALLOWED, f"{layer} is a new layer: add it to ALLOWED and the docs"
    illegal = _imports(path) - ALLOWED[layer] - {layer}
    assert not illegal, f"{path.relative_to(SRC)} imports {sorted(illegal)}"


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from safeguard.store.models import Media\nimport safeguard.cli.main\n")
    assert _imports(bad) == {"store", "cli"}
