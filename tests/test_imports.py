"""The modules of hierwbc (and of hierarchy_editor) import each other without cycles, counting
imports inside functions too (a deferred import hides a cycle from Python, not from the design).
A package's ``__init__`` re-exporting its own modules is not an edge back up (nor are the lazy
re-exports of ``hierwbc/__init__`` and ``hierwbc.experiment``, loaded by name on first use)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hierwbc", "hierarchy_editor")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in (ROOT / package).rglob("*.py")}


def imported(path: Path, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``path`` imports anywhere in its body (an ``__init__``'s
    imports of its own sub-modules left out)."""
    me = module_name(path)
    package = me if path.stem == "__init__" else me.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(x for x in (base, node.module) if x)
            names = [target] + [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out |= {n for n in names if n in known and n != me}
    if path.stem == "__init__":
        out = {n for n in out if not n.startswith(me + ".")}
    return out


def graph(package: str) -> dict[str, set[str]]:
    found = modules(package)
    return {name: imported(path, set(found)) for name, path in found.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle ``[a, b, ..., a]`` of ``edges`` (depth-first search), or None."""
    done: set[str] = set()

    def visit(path: list[str]) -> list[str] | None:
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt in path:
                return path[path.index(nxt):] + [nxt]
            if nxt not in done and (cycle := visit(path + [nxt])):
                return cycle
        done.add(path[-1])
        return None

    for node in sorted(edges):
        if node not in done and (cycle := visit([node])):
            return cycle
    return None


def test_the_checker_sees_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package):
    edges = graph(package)
    assert len(edges) >= 5  # every module found
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges))


def test_the_graph_sees_deferred_and_relative_imports():
    edges = graph("hierwbc")
    assert "hierwbc.hierarchy.edits" in edges["hierwbc.hierarchy.tree"]  # the mixin import
    assert "hierwbc.hierarchy.tree" not in edges["hierwbc.hierarchy.edits"]
    assert "hierwbc.models.shipped" in edges["hierwbc.models.checkpoints"]  # file format -> loading
    assert "hierwbc.models.checkpoints" not in edges["hierwbc.models.shipped"]
    assert "hierwbc.datasets.splits" not in edges["hierwbc.datasets"]  # re-exports are not edges


def test_the_run_folder_layout_and_the_notebook_runner_import_without_torch():
    """``hierwbc.experiment`` loads its public names on first use: its layout, which the notebook
    runner and the workflow need, does not pull torch in (the demo's first lines come at once)."""
    import subprocess
    import sys

    code = ("import sys, hierwbc.notebooks, hierwbc.experiment.layout; assert 'torch' not in sys.modules; "
            "from hierwbc.experiment import STAGES, load_experiment; print(STAGES[0], load_experiment.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["train", "hierwbc.config.experiment"]
    for first in ("", "import hierwbc.experiment.publishing; "):  # the function, whichever import came first
        code = first + ("from hierwbc.experiment import publish; import hierwbc.experiment as e; "
                        "print(publish is e.publish, callable(publish))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        assert out == ["True", "True"], first


INFERENCE = ("hierwbc.embed", "hierwbc.predict", "hierwbc.adapt", "hierwbc.reference", "hierwbc.models.registry")


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others (imports inside functions too)."""
    seen, todo = set(), [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_reachable_follows_chains():
    assert reachable({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a"}}, "a") == {"b", "c"}
    assert "hierwbc.train.loop" in reachable(graph("hierwbc"), "hierwbc.experiment.runner")  # it sees the trainer


@pytest.mark.parametrize("module", INFERENCE)
def test_inference_stands_without_the_trainer(module):
    """embed, predict, adapt and the model registry import nothing of hierwbc.train, however deep."""
    edges = graph("hierwbc")
    found = reachable(edges, module) | {m for m in edges if m.startswith(module + ".")}
    for sub in [m for m in edges if m.startswith(module + ".")]:
        found |= reachable(edges, sub)
    trainer = sorted(m for m in found if m == "hierwbc.train" or m.startswith("hierwbc.train."))
    assert not trainer, f"{module} reaches {trainer}"
