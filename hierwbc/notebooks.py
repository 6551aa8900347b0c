"""Execute the numbered notebooks (``notebooks/NN_*.ipynb``) with papermill into a run folder,
as ``make demo`` and CI do, and export each executed notebook to HTML.

Every notebook receives the parameters it declares in its ``parameters`` cell from a common
set (``run_dir``, ``data_root`` and the size knobs of :data:`DEMO_PARAMETERS`); a failing cell
stops the run with the notebook and the cell named.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"

DEMO_PARAMETERS: dict[str, object] = {}
"""Overrides that make the demo small enough for 2 CPU cores (filled by the notebooks issue)."""


def numbered_notebooks(folder: str | Path = NOTEBOOK_DIR) -> list[Path]:
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def declared_parameters(path: str | Path) -> set[str]:
    """Names assigned in the cell tagged ``parameters`` (papermill's convention)."""
    nb = json.loads(Path(path).read_text())
    names: set[str] = set()
    for cell in nb.get("cells", []):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            src = "".join(cell.get("source", []))
            for line in src.splitlines():
                head = line.split("#", 1)[0]
                if "=" in head and not head.startswith((" ", "\t")):
                    names.add(head.split("=", 1)[0].strip().split(":")[0].strip())
    return names


def run_notebook(path: Path, out_dir: Path, parameters: dict[str, object], html: bool = True) -> Path:
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    wanted = declared_parameters(path)
    params = {k: v for k, v in parameters.items() if k in wanted}
    pm.execute_notebook(str(path), str(target), parameters=params, cwd=str(path.parent),
                        kernel_name="python3", progress_bar=False, log_output=False)
    if html:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_filename(str(target))
        (out_dir / (path.stem + ".html")).write_text(body, encoding="utf-8")
    return target


def run_all(run_dir: str | Path = "runs/demo", data: str | None = None, only: list[str] | None = None,
            parameters: dict[str, object] | None = None, folder: str | Path = NOTEBOOK_DIR) -> int:
    """Run every numbered notebook (or those whose name starts with one of ``only``) in order."""
    run_dir = Path(run_dir).resolve()
    params = {"run_dir": str(run_dir), "data_root": data, **DEMO_PARAMETERS, **(parameters or {})}
    out_dir = run_dir / "notebooks"
    for nb in numbered_notebooks(folder):
        if only and not any(nb.name.startswith(o) for o in only):
            continue
        t0 = time.perf_counter()
        print(f"running {nb.name} ...", flush=True)
        run_notebook(nb, out_dir, params)
        print(f"  done in {time.perf_counter() - t0:.0f} s -> {out_dir / nb.name}", flush=True)
    print(f"\nExecuted notebooks and HTML exports: {out_dir}\nFigures and tables: {run_dir}")
    return 0
