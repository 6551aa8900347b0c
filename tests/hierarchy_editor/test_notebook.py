"""notebooks/01_hierarchy.ipynb: stripped, parametrised, and run headless by papermill."""

import ast
from pathlib import Path

import nbformat
import pytest

from hierwbc.hierarchy import Hierarchy, default_hierarchy

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_hierarchy.ipynb"


def test_committed_notebook_is_stripped_and_parametrised():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    names = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(params[0].source).body}
    assert names == {"run_dir": "runs/demo", "hierarchy_path": None}
    assert max(len(c.source.splitlines()) for c in code) <= 15


@pytest.mark.slow
def test_runs_headless_with_papermill(tmp_path):
    import papermill

    run_dir = tmp_path / "run"
    out = papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), cwd=str(tmp_path),
                                     parameters={"run_dir": str(run_dir)}, progress_bar=False,
                                     kernel_name="python3")
    assert Hierarchy.read(run_dir / "hierarchy.json") == default_hierarchy()
    assert (run_dir / "hierarchy.nwk").read_text() == default_hierarchy().to_newick() + "\n"
    assert (run_dir / "hierarchy.png").read_bytes().startswith(b"\x89PNG")
    mimes = {m for c in out.cells for o in c.get("outputs", []) for m in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in mimes  # the editor was displayed
    assert "image/png" in mimes
    assert not [o for c in out.cells for o in c.get("outputs", []) if o.output_type == "error"]
