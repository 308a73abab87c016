"""Layer rule: safeguard.hashing imports only safeguard.domain (and itself) from the project."""

from __future__ import annotations

import ast
from pathlib import Path

import safeguard.hashing

ALLOWED = ("safeguard.domain", "safeguard.hashing")


def test_hashing_imports_only_domain() -> None:
    package = Path(safeguard.hashing.__file__).parent
    bad = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                if name.startswith("safeguard") and not name.startswith(ALLOWED):
                    bad.append(f"{path.name}: {name}")
    assert not bad
