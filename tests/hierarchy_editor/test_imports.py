"""What hierarchy_editor uses of hierwbc is what its package docstring says."""

import ast
from pathlib import Path

import hierarchy_editor

FOLDER = Path(hierarchy_editor.__file__).parent


def hierwbc_imports() -> set[str]:
    out = set()
    for path in FOLDER.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                out.add(node.module)
            elif isinstance(node, ast.Import):
                out |= {a.name for a in node.names}
    return {m for m in out if m.split(".")[0] == "hierwbc"}


def test_uses_only_the_hierarchy_and_the_plotting_colours():
    used = hierwbc_imports()
    assert used <= {"hierwbc.hierarchy", "hierwbc.hierarchy.names", "hierwbc.hierarchy.tree",
                    "hierwbc.plotting.colors", "hierwbc.deprecation"}, used
    assert "hierwbc.plotting.colors" in used and ":mod:`hierwbc.plotting.colors`" in hierarchy_editor.__doc__
