"""Execute the numbered notebooks (``notebooks/NN_*.ipynb``) with papermill into a run folder,
as ``make demo`` and CI do, and export each executed notebook to HTML.

Every notebook receives the parameters it declares in its ``parameters`` cell from a common
set (``run_dir``, ``data_root`` and the size knobs of :data:`DEMO_PARAMETERS`); a failing cell
stops the run with the notebook and the cell named.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import warnings
from pathlib import Path

from .experiment.layout import RunLayout
from .io import atomic_write_text

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"

DEMO_PARAMETERS: dict[str, object] = {
    "threads": 1,                 # 1 torch / BLAS thread per kernel: fastest on a shared 2-core machine
    "gallery_n": 6,               # 02: cells per class in the galleries
    "models": ["unsup", "ce", "hierce", "hierce_a0.1", "hierce_a0.9", "supcon", "hiersupcon"],  # 03
    "pretrained": "hierwbc-tiny-pbc",  # 03: every model continues from the shipped starter backbone
    "steps": 30,                  # 03: optimisation steps per model (vit_tiny, 56 px: ~1 s each on 1 core)
    "img_size": 56,
    "batch_size": 32,
    "train_limit": 400,           # 03: training images (stratified subset of the PBC train split)
    "eval_limit": 300,            # 04: cells per evaluation set (PBC test split, bccd, segmentation_wbc)
    "head_prototypes": 256,       # tiny DINO / iBOT heads (DINOv2: 65536 prototypes, 2048 hidden, 256 bottleneck)
    "head_hidden_dim": 256,
    "head_bottleneck_dim": 64,
    "cv": 5,                      # 05-09: evaluation folds
    "n_boot": 200,                # 09: bootstrap resamples
    "thumbnails": 30,             # 05: cells drawn on the UMAP
    "pair": ["starter", "hierce"],  # 05, 06: side by side, the starter as shipped and HierCE continued from it
    "reference_limit": 1500,      # 10: reference atlas cells (stratified subset of the PBC train split)
    "new_limit": None,            # 10: new cells to label (None: all 341 BCCD crops)
    "uncertain_n": 24,            # 10: cells in the gallery of the least certain ones
}
"""The sizes of ``make demo``: all of 01-09 in about 7.5 minutes on 2 shared CPU cores (measured
with ``time hierwbc demo``: training 4 min, embedding 1 min; per-notebook seconds are written to
``<run>/notebooks/timings.json``); 10 (atlas of 1500 PBC train cells, 341 BCCD cells) adds about
a minute (85 s measured on 2 cores busy with a training run)."""


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


def quiet_kernel_manager():
    """The kernel manager class of :func:`run_notebook`: jupyter_client's
    ``AsyncKernelManager`` with two changes that keep a notebook run's terminal clean.

    - IPC transport (POSIX): over TCP without CurveZMQ keys every ipykernel >= 7 logs
      "Kernel is running over TCP without encryption ..." to the terminal at start-up. The Unix
      sockets lie in a private temporary folder per kernel (never the shared "kernel-ipc" of
      the working folder), so concurrent runs cannot collide, and are not reachable from the
      network either.
    - No SIGINT before the shutdown request: jupyter_client interrupts the kernel before asking
      it to shut down, so a kernel still inside a message handler (e.g. the final
      ``kernel_info`` reply, likely on a loaded machine) logs "KeyboardInterrupt caught in
      kernel". The kernel is idle when papermill is done, and the shutdown request goes over the
      control channel anyway; a kernel that does not exit is still terminated after
      ``shutdown_wait_time`` as before.
    """
    import tempfile

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, default

    class QuietKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc" if os.name == "posix" else "tcp",
                                    config=True)

        @default("ip")
        def _unique_ipc_ip(self) -> str:
            # jupyter_client's default IPC path is "kernel-ipc" in the working folder, the same
            # for every kernel: two notebooks run at once (pytest -n 2) would bind each other's
            # sockets and hang. Each kernel gets its own private folder instead.
            if self.transport == "ipc":
                return os.path.join(tempfile.mkdtemp(prefix="hierwbc-kernel-"), "ipc")
            return "127.0.0.1"

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:  # set by shutdown_kernel before it interrupts
                return
            await super()._async_interrupt_kernel()

        interrupt_kernel = _async_interrupt_kernel

    return QuietKernelManager


#: loggers of the notebook machinery: papermill logs each cell / kernel event at INFO and
#: nbclient / jupyter_client warn about kernel and transport details; errors still show
NOTEBOOK_LOGGERS = ("papermill", "nbclient", "jupyter_client", "traitlets", "asyncio")


@contextlib.contextmanager
def quiet_notebook_run(level: int = logging.ERROR):
    """Within the block: the :data:`NOTEBOOK_LOGGERS` at ``level`` and the runtime warnings of
    the kernel machinery (papermill, nbclient, jupyter_client, zmq, ipykernel, traitlets)
    ignored; everything is restored on exit. Errors of a notebook still raise."""
    loggers = [logging.getLogger(n) for n in NOTEBOOK_LOGGERS]
    saved = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(max(lg.getEffectiveLevel(), level))
        with warnings.catch_warnings():
            for module in ("papermill", "nbclient", "nbconvert", "jupyter_client", "jupyter_core", "zmq",
                           "ipykernel", "traitlets"):
                warnings.filterwarnings("ignore", module=module)
            yield
    finally:
        for lg, lv in zip(loggers, saved):
            lg.setLevel(lv)


def run_notebook(path: Path, out_dir: Path, parameters: dict[str, object], html: bool = True) -> Path:
    """Execute ``path`` with papermill into ``out_dir`` (the ``parameters`` its ``parameters``
    cell declares), quietly (:func:`quiet_notebook_run`, :func:`quiet_kernel_manager`), and
    export it to HTML. A failing cell raises papermill's ``PapermillExecutionError``."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    wanted = declared_parameters(path)
    params = {k: v for k, v in parameters.items() if k in wanted}
    with quiet_notebook_run():
        pm.execute_notebook(str(path), str(target), parameters=params, cwd=str(path.parent),
                            kernel_name="python3", progress_bar=False, log_output=False,
                            kernel_manager_class=quiet_kernel_manager())
        if html:
            from nbconvert import HTMLExporter

            body, _ = HTMLExporter().from_filename(str(target))
            atomic_write_text(out_dir / (path.stem + ".html"), body)
    return target


def run_all(run_dir: str | Path = "runs/demo", data: str | None = None, only: list[str] | None = None,
            parameters: dict[str, object] | None = None, folder: str | Path = NOTEBOOK_DIR) -> int:
    """Run every numbered notebook (or those whose name starts with one of ``only``) in order."""
    run_dir = Path(run_dir).resolve()
    params = {"run_dir": str(run_dir), "data_root": data, **DEMO_PARAMETERS, **(parameters or {})}
    layout = RunLayout(run_dir)
    out_dir = layout.notebooks
    seconds: dict[str, float] = {}
    chosen = [nb for nb in numbered_notebooks(folder) if not only or any(nb.name.startswith(o) for o in only)]
    print(f"running {len(chosen)} notebook(s) into {out_dir}:", flush=True)
    for nb in chosen:
        t0 = time.perf_counter()
        print(f"  {nb.stem:<28}", end=" ", flush=True)  # one line per notebook, its time at the end
        try:
            run_notebook(nb, out_dir, params)
        except BaseException:
            print(f"failed after {time.perf_counter() - t0:.0f} s", flush=True)
            raise
        seconds[nb.stem] = round(time.perf_counter() - t0, 1)
        print(f"{seconds[nb.stem]:5.0f} s", flush=True)
    timings = out_dir / "timings.json"
    previous = json.loads(timings.read_text()) if timings.exists() else {}
    atomic_write_text(timings, json.dumps({**previous, **seconds}, indent=1))
    figures = sorted(layout.figures.rglob("*.png"))  # seed<k>/ of a multi-seed run too
    rows = [("executed notebooks + HTML exports", out_dir), (f"figures ({len(figures)} PNG)", layout.figures),
            ("tables (CSV; paper tables as .md)", layout.tables), ("run folder", run_dir)]
    print(f"\n{len(seconds)} notebook(s) in {sum(seconds.values()):.0f} s "
          f"({', '.join(f'{k[:2]}: {v:.0f}' for k, v in seconds.items())}). Where to look:")
    for what, where in rows:
        print(f"  {what:<36} {where}")
    print(f"  open the .html files in a browser, or `jupyter lab notebooks/` with run_dir = {str(run_dir)!r}")
    return 0
