"""The packages are the map: each imports only the packages below it, never a library its map
says it does without, and no two modules of one package import each other (read from the
code's own imports, function-level ones included); each package's map names all its modules.
So the picture in suite/*/__init__.py and docs/development/architecture.md stays true."""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

SUITE = Path(__file__).resolve().parents[2] / "suite"

# Bottom to top. A module may import its own layer and any layer before it in this list.
LAYERS = [
    # shared contracts and facts: the record's names, the exit codes, this machine's cores,
    # the libraries' log settings
    ("schema", "errors", "datasets", "machine", "library_logs"),
    ("sequences",),  # sequences from anywhere, read, checked and described: no Keras, no MLflow
    ("study",),  # what to train
    ("race",),  # a race of seeds decided from recorded results: pure statistics
    ("train",),  # one RunSpec trained: no MLflow, no Optuna
    ("stores",),  # where each store lives and whether it can be used
    ("record",),  # MLflow written and read
    ("queue",),  # the Optuna study as the queue
    ("forecast",),  # read-only: the plan, time, memory
    ("worker",),  # the loop: sources, one trial's life, processes
    ("cli", "run"),  # python -m suite.run
    ("report",),  # python -m suite.report
]
LAYER_OF = {part: level for level, parts in enumerate(LAYERS) for part in parts}
MOST_TOP_LEVEL_MODULES = 10

# What each package's map (its __init__ docstring) says it does without.
KERAS = {"keras", "tensorflow", "jax", "torch"}
STORES = {"mlflow", "optuna", "sqlalchemy"}
LIBRARIES_LEFT_OUT = {
    "machine": KERAS | STORES,
    "schema": KERAS | STORES,
    "sequences": KERAS | {"mlflow", "optuna"},
    "study": KERAS | STORES,
    "race": KERAS | STORES,
    "train": STORES,
    "report": KERAS,
}


def _part(module: str) -> str:
    """suite.record.tracker -> record"""
    return module.split(".")[1]


def _type_checking(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` (or typing.TYPE_CHECKING): imports read by type checkers only."""
    test = getattr(node, "test", None) if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST, *, runtime_only: bool) -> list[ast.AST]:
    """Every node of `tree`; with `runtime_only`, none inside an `if TYPE_CHECKING:` block."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        children = list(ast.iter_child_nodes(node))
        if runtime_only and _type_checking(node):
            children = list(node.orelse)  # type: ignore[attr-defined]
        stack += children
    return found


def _imports(path: Path, *, runtime_only: bool = False) -> list[str]:
    """Every absolute module a file imports (`from a.b import c` gives a.b and a.b.c)."""
    found = []
    tree = ast.parse(path.read_text(), str(path))
    for node in _nodes(tree, runtime_only=runtime_only):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def suite_imports(path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every `suite.*` name a file imports, at any depth of its code (modules, and the names
    `from suite.x import name` takes out of them)."""
    return {name for name in _imports(path, runtime_only=runtime_only) if name.startswith("suite.")}


def _is_module(name: str, modules: dict[str, Path]) -> bool:
    return name in modules or f"{name}.__init__" in modules


def _modules(root: Path) -> dict[str, Path]:
    """{suite.pkg.module: path} for every module under `root` (a `suite` folder)."""
    return {
        ".".join(path.relative_to(root.parent).with_suffix("").parts): path
        for path in sorted(root.rglob("*.py"))
    }


def layer_violations(root: Path = SUITE) -> list[str]:
    violations = []
    modules = _modules(root)
    for module, path in modules.items():
        if module == "suite.__init__":
            continue
        own = _part(module)
        for imported in sorted(suite_imports(path)):
            if not _is_module(imported, modules):
                continue  # a name taken out of a module: the module is listed itself
            target = _part(imported)
            if LAYER_OF[target] > LAYER_OF[own]:
                violations.append(f"{module} imports {imported} ({target} is not below {own})")
    return violations


def library_violations(root: Path = SUITE) -> list[str]:
    violations = []
    for module, path in _modules(root).items():
        left_out = LIBRARIES_LEFT_OUT.get(_part(module), set())
        used = {name.split(".")[0] for name in _imports(path)} & left_out
        violations += [f"{module} imports {library}" for library in sorted(used)]
    return violations


def circles(root: Path = SUITE) -> list[list[str]]:
    """Modules of one package that import each other when they run, directly or round a
    longer loop (an import for type checkers alone, under `if TYPE_CHECKING:`, is not one)."""
    modules = _modules(root)
    found = []
    for package in sorted({_part(m) for m in modules if m.count(".") >= 2}):
        inside = {m for m in modules if _part(m) == package and m.count(".") >= 2}
        graph = {}
        for module in inside:
            targets = {
                name if name in inside else name.rsplit(".", 1)[0]
                for name in suite_imports(modules[module], runtime_only=True)
            }
            graph[module] = (targets & inside) - {module, f"suite.{package}.__init__"}
        try:
            tuple(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as error:
            found.append(error.args[1])
    return found


def modules_missing_from_maps(root: Path = SUITE) -> list[str]:
    """A package's modules that its map does not name: `module` as a word, or
    `sub/module.py` for a module in a subfolder."""
    missing = []
    for module in _modules(root):
        parts = module.split(".")
        if len(parts) < 3 or parts[-1] in {"__init__", "__main__"}:
            continue
        package = root / parts[1]
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
        inner = parts[2:]
        named = "/".join(inner) + ".py" if len(inner) > 1 else inner[0]
        if not re.search(rf"(?<![\w/]){re.escape(named)}(?!\w)", doc):
            missing.append(module)
    return missing


def test_every_package_imports_only_packages_below_it():
    assert layer_violations() == []


def test_no_package_imports_a_library_its_map_leaves_out():
    assert library_violations() == []


def test_no_two_modules_of_a_package_import_each_other():
    assert circles() == []


def test_every_package_map_names_each_of_its_modules():
    assert modules_missing_from_maps() == []


def test_every_module_of_the_suite_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in SUITE.iterdir()}
    parts -= {"__init__", "__pycache__"}
    assert parts <= set(LAYER_OF), parts - set(LAYER_OF)


def test_each_checker_finds_what_it_looks_for(tmp_path):
    """The checkers themselves, on a scratch tree (the real one is not written to): an upward
    import, a library a map leaves out, a circle inside a package, a module the map omits."""
    root = tmp_path / "suite"
    files = {
        "__init__.py": "",
        "study/__init__.py": '"""The grid (grid), its sizes (sizes), its types (types)."""',
        "study/grid.py": "from suite.study import sizes, types\nimport keras\n",
        "study/sizes.py": "def f():\n    from suite.study.grid import expand\n",
        "study/types.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from suite.study.grid import Grid\n",
        "study/probe.py": "def f():\n    from suite.worker.loop import run_worker\n",
        "worker/__init__.py": '"""The loop (loop)."""',
        "worker/loop.py": "import mlflow\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert layer_violations(root) == [
        "suite.study.probe imports suite.worker.loop (worker is not below study)"
    ]
    assert library_violations(root) == ["suite.study.grid imports keras"]
    assert [sorted(set(circle)) for circle in circles(root)] == [
        ["suite.study.grid", "suite.study.sizes"]
    ]
    assert modules_missing_from_maps(root) == ["suite.study.probe"]


def test_few_modules_stay_at_the_top():
    top = [p for p in SUITE.glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= MOST_TOP_LEVEL_MODULES, sorted(p.name for p in top)
