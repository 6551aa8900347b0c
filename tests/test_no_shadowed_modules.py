"""No submodule of the package is hidden by a name its package's ``__init__`` binds: every
``hierwbc.x.y`` module can be reached as ``hierwbc.x.y`` after ``import hierwbc.x``."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "hierwbc"


def bound_names(init: Path) -> set[str]:
    """Names an ``__init__.py`` binds at its top level (imports, defs, assignments)."""
    names = set()
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def shadowed(root: Path) -> list[str]:
    out = []
    for init in root.rglob("__init__.py"):
        pkg = init.parent
        subs = {p.stem for p in pkg.glob("*.py") if p.stem != "__init__"} | {
            p.name for p in pkg.iterdir() if (p / "__init__.py").exists()}
        for name in sorted(bound_names(init) & subs):
            # `from .x import x`-style re-export of a module by its own name is the module, not a shadow
            tree = ast.parse(init.read_text())
            if any(isinstance(n, ast.ImportFrom) and n.level == 1 and n.module is None
                   and any((a.asname or a.name) == name for a in n.names) for n in tree.body):
                continue
            out.append(f"{pkg.relative_to(root)}/{name}")
    return sorted(out)


def test_the_check_sees_a_shadow(tmp_path):
    pkg = tmp_path / "p"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .report import report\n")
    (pkg / "report.py").write_text("def report(): pass\n")
    assert shadowed(tmp_path) == ["p/report"]


def test_no_submodule_is_shadowed():
    assert shadowed(ROOT) == []
