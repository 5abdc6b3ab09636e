"""The packages are the map: each imports only the packages below it (read from the code's own
imports, function-level ones included), so the README's picture of the layers stays true."""

from __future__ import annotations

import ast
from pathlib import Path

SUITE = Path(__file__).resolve().parents[1] / "suite"

# Bottom to top. A module may import its own layer and any layer before it in this list.
LAYERS = [
    ("schema", "errors", "datasets"),  # shared contracts: the record's names, the exit codes
    ("sequences",),  # sequences from anywhere, read, checked and described: no Keras, no MLflow
    ("study",),  # what to train
    ("train",),  # one RunSpec trained: no MLflow, no Optuna
    ("stores",),  # where each store lives and whether it can be used
    ("record",),  # MLflow written and read
    ("queue",),  # the Optuna study as the queue
    ("forecast",),  # read-only: the plan, time, memory, outcomes
    ("worker",),  # the loop: sources, one trial's life, processes
    ("cli", "run"),  # python -m suite.run
    ("report",),  # python -m suite.report
]
LAYER_OF = {part: level for level, parts in enumerate(LAYERS) for part in parts}
MOST_TOP_LEVEL_MODULES = 10


def _part(module: str) -> str:
    """suite.record.tracker -> record"""
    return module.split(".")[1]


def suite_imports(path: Path) -> set[str]:
    """Every `suite.*` module a file imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "suite":
                found |= {f"suite.{alias.name}" for alias in node.names}
            elif node.module.startswith("suite."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("suite.")}
    return found


def layer_violations() -> list[str]:
    violations = []
    for path in sorted(SUITE.rglob("*.py")):
        module = ".".join(path.relative_to(SUITE.parent).with_suffix("").parts)
        if module == "suite.__init__":
            continue
        own = _part(module)
        for imported in sorted(suite_imports(path)):
            target = _part(imported)
            if LAYER_OF[target] > LAYER_OF[own]:
                violations.append(f"{module} imports {imported} ({target} is not below {own})")
    return violations


def test_every_package_imports_only_packages_below_it():
    assert layer_violations() == []


def test_every_module_of_the_suite_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in SUITE.iterdir()}
    parts -= {"__init__", "__pycache__"}
    assert parts <= set(LAYER_OF), parts - set(LAYER_OF)


def test_a_violation_is_found():
    """The checker itself: an upward import in a scratch module is reported."""
    scratch = SUITE / "study" / "_layers_probe.py"
    scratch.write_text("def f():\n    from suite.worker.loop import run_worker\n")
    try:
        assert layer_violations() == [
            "suite.study._layers_probe imports suite.worker.loop (worker is not below study)"
        ]
    finally:
        scratch.unlink()


def test_few_modules_stay_at_the_top():
    top = [p for p in SUITE.glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= MOST_TOP_LEVEL_MODULES, sorted(p.name for p in top)
