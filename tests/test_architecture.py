"""The import graph of the packages: no cycles, no import that runs back up the layers.

Every import counts, including those inside functions and under TYPE_CHECKING: a lazy import is
still a dependency. The layers are the stage list (README "Layout"); a module may import its own
layer and the layers below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("artclf", "features", "train", "bench")

# Lowest first. A module belongs to the most specific prefix listed.
LAYERS: list[tuple[str, ...]] = [
    ("artclf",),
    ("features",),
    ("train.config", "train.fsutil", "train.tables", "train.progress"),
    ("train.data",),
    ("train.fit", "train.model"),
    ("train.store",),
    ("train.evaluate", "train.label"),
    ("train.serve",),
    ("train.workflow", "train.experiments"),
    ("train.cli",),
    # The `train` package itself only keeps the deprecated `train.load_model` alias; bench drives
    # the library like an app would (never the CLI).
    ("train", "bench"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            # The most specific of our modules this import names.
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = rank, len(prefix)
    assert best is not None, f"{module} is in no layer; add it to LAYERS"
    return best


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def test_no_import_runs_up_the_layers():
    upward = [f"{m} (layer {layer_of(m)}) imports {d} (layer {layer_of(d)})"
              for m, deps in graph().items() for d in sorted(deps)
              # A package's __init__ may re-export its own modules.
              if layer_of(d) > layer_of(m) and not d.startswith(m + ".")]
    assert not upward, "\n".join(upward)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return cycles


def test_no_module_cycles():
    # A package __init__ that re-exports its modules is not a cycle with them.
    edges = {m: {d for d in deps if not d.startswith(m + ".") and not m.startswith(d + ".")} for m, deps in graph().items()}
    cycles = _cycles(edges)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_cycles_between_stages():
    def stage(module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2]) if parts[0] == "train" else parts[0]

    edges: dict[str, set[str]] = {}
    for m, deps in graph().items():
        edges.setdefault(stage(m), set()).update(stage(d) for d in deps if stage(d) != stage(m) and stage(d) != "train")
    cycles = _cycles(edges)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_runtime_imports_no_training_code_or_heavy_library():
    heavy = ("train", "features", "bench", "sklearn", "scipy", "skops", "joblib", "datasets", "typer")
    modules = all_modules()
    bad = []
    for name, path in modules.items():
        if not name.startswith("artclf"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad += [f"{name} imports {t}" for t in targets if t.split(".")[0] in heavy]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The walk itself works: a planted upward import is reported."""
    assert layer_of("train.data.parse") < layer_of("train.cli.predict")
    fake = {"train.data.parse": {"train.cli.predict"}}
    upward = [(m, d) for m, deps in fake.items() for d in deps if layer_of(d) > layer_of(m)]
    assert upward == [("train.data.parse", "train.cli.predict")]
    assert _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]
