"""The modules of hierwbc.hierarchy import each other without cycles, counting imports inside
functions too (a deferred import hides a cycle from Python, not from the design)."""

import ast
from pathlib import Path

import hierwbc.hierarchy

PACKAGE = "hierwbc.hierarchy"
FOLDER = Path(hierwbc.hierarchy.__file__).parent


def module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def imported(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports anywhere in its body."""
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
        modules = {module_name(p) for p in FOLDER.glob("*.py")}
        out |= {n for n in names if n in modules and n != me}
    return out


def graph() -> dict[str, set[str]]:
    return {module_name(p): imported(p) for p in FOLDER.glob("*.py")}


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


def test_no_import_cycle_in_the_hierarchy_package():
    edges = graph()
    assert f"{PACKAGE}.edits" in edges[f"{PACKAGE}.tree"]  # the checker sees the mixin import
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges))


def test_edits_and_tree_do_not_import_each_other_both_ways():
    edges = graph()
    assert f"{PACKAGE}.tree" not in edges[f"{PACKAGE}.edits"]
