"""The layer's dependency rule, read from the source: core imports no feature, no feature imports one above it,
and each handler imports only the composition root, core and its own feature."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

LAYER = ROOT / "layers" / "shared" / "agentfeedback"
# Lower ranks sit below higher ones; a part may import its own part and any part of a lower rank.
RANKS = {
    "core": 0,
    "providers": 1,
    "keys": 1,
    "tokens": 1,
    "feedback": 2,
    "runs": 3,
    # Counts per agent, version and day: reads stream images and the tables it recounts (through core; feedback
    # names the flips counters it adds up).
    "aggregates": 3,
    "chat": 4,
    "review": 4,
    "mcp": 5,
    "composition": 6,
}
HANDLER_FEATURE = {
    "feedback": "feedback",
    "run": "runs",
    "chat": "chat",
    "review": "review",
    "authorizer": "keys",
    "feedback_widget": "review",
    "mcp": "mcp",
    "aggregator": "aggregates",
}


def part_of(module: str) -> str:
    """agentfeedback.runs.store -> runs; agentfeedback.tokens -> tokens."""
    return module.split(".")[1]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every agentfeedback module a file imports (also under TYPE_CHECKING and inside functions)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "agentfeedback":
                found += [(node.lineno, f"agentfeedback.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name.startswith("agentfeedback.")]


def layer_modules() -> list[Path]:
    return sorted(path for path in LAYER.rglob("*.py") if "__pycache__" not in path.parts)


def test_every_part_of_the_layer_has_a_rank() -> None:
    parts = {path.relative_to(LAYER).parts[0].removesuffix(".py") for path in layer_modules()} - {"__init__"}
    assert parts == set(RANKS)


@pytest.mark.parametrize("path", layer_modules(), ids=lambda path: str(path.relative_to(LAYER)))
def test_layer_module_imports_only_its_own_part_or_below(path: Path) -> None:
    relative = path.relative_to(LAYER).parts
    if relative == ("__init__.py",):
        return
    own = relative[0].removesuffix(".py")
    wrong = [
        f"line {line}: {name}"
        for line, name in imported_modules(path)
        if part_of(name) != own and RANKS[part_of(name)] >= RANKS[own]
    ]
    assert not wrong, f"{own} (rank {RANKS[own]}) may not import a part of its rank or above: {wrong}"


@pytest.mark.parametrize("function", sorted(HANDLER_FEATURE))
def test_handler_imports_only_composition_core_and_its_feature(function: str) -> None:
    allowed = {"composition", "core", HANDLER_FEATURE[function]}
    imports = imported_modules(ROOT / "functions" / function / "app.py")
    assert imports, "a handler reaches its feature through the layer"
    wrong = [f"line {line}: {name}" for line, name in imports if part_of(name) not in allowed]
    assert not wrong, f"functions/{function}/app.py imports outside {sorted(allowed)}: {wrong}"


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    """The checker itself: a core module importing a feature is reported."""
    module = tmp_path / "bad.py"
    module.write_text("from agentfeedback.review.store import ReviewStore\nimport agentfeedback.core.errors\n")
    names = [name for _, name in imported_modules(module)]
    assert names == ["agentfeedback.review.store", "agentfeedback.core.errors"]
    assert [name for name in names if RANKS[part_of(name)] >= RANKS["core"] and part_of(name) != "core"] == [
        "agentfeedback.review.store"
    ]
