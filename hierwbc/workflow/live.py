"""Train an experiment's models while a notebook shows the loss curves as they grow.

Training (:func:`hierwbc.experiment.runner.train_models`, which calls
:func:`hierwbc.train.loop.fit` per model and skips models already done) runs in a worker
thread; the notebook's thread re-reads every ``models/<name>/metrics.jsonl`` every
``every`` seconds and replaces the figure in place (an IPython display handle). Errors in
training are raised in the notebook once the worker stops.
"""

from __future__ import annotations

import threading

import pandas as pd

from hierwbc.plotting import read_metrics, training_curves


def _status(cfg, done_before: set[str], curves: dict[str, pd.DataFrame]) -> pd.DataFrame:
    steps = int(cfg.train.get("max_steps") or 0)
    rows = []
    for name in cfg.models:
        m = curves.get(name, pd.DataFrame())
        last = int(m["step"].max()) + 1 if len(m) else 0
        state = "done before" if name in done_before else ("done" if steps and last >= steps else
                                                           "training" if last else "waiting")
        rows.append({"model": name, **cfg.models[name], "steps": f"{last}/{steps}", "state": state,
                     "loss": float(m["loss"].iloc[-1]) if len(m) and "loss" in m else float("nan")})
    return pd.DataFrame(rows)


def train_live(cfg, every: float = 5.0, smooth: int = 1, display_output: bool = True):
    """Train (or resume, or skip) every model of experiment ``cfg`` with live curves.

    Returns ``(records, figure)``: the per-model ``DONE.json`` records and the final
    :func:`hierwbc.plotting.training_curves` figure of all models.
    """
    from IPython.display import display

    from hierwbc.experiment.runner import train_models

    done_before = {n for n in cfg.models if cfg.layout.done_file(n, cfg.seeds[0]).exists()}
    result: dict = {}

    def work():
        try:
            result["records"] = train_models(cfg, progress=False)
        except BaseException as e:  # noqa: BLE001 - re-raised in the notebook's thread
            result["error"] = e

    worker = threading.Thread(target=work, name="hierwbc-train", daemon=True)
    worker.start()
    handle_fig = handle_table = None
    while True:
        worker.join(timeout=every)
        alive = worker.is_alive()  # asked before reading: the last read follows the last write
        curves = {n: read_metrics(cfg.layout.model_dir(n, cfg.seeds[0])) for n in cfg.models}  # first seed
        fig = training_curves({n: m for n, m in curves.items() if len(m)} or {"(starting)": pd.DataFrame({"step": []})},
                              smooth=smooth, title="training (updated while it runs)" if alive else None)
        table = _status(cfg, done_before, curves)
        if display_output:
            if handle_fig is None:
                handle_fig, handle_table = display(fig, display_id=True), display(table, display_id=True)
            else:
                handle_fig.update(fig)
                handle_table.update(table)
        if not alive:
            break
    if "error" in result:
        raise result["error"]
    return result["records"], fig


def training_summary(records: dict[str, dict]) -> pd.DataFrame:
    """One row per model and seed of :func:`train_live`'s records (``{model: {"seed<k>":
    record}}``): preset, steps, seconds, images/s and the mean of each loss term over the last
    5 logged steps."""
    flat = [(name, r) for name, by_seed in records.items() for r in by_seed.values()]
    return pd.DataFrame([{"model": name, "seed": r.get("seed"), "preset": r["preset"], "steps": r["steps"],
                          "seconds": round(r["wall_s_this_sitting"], 1),
                          "images_per_s": round(r["median_images_per_s"], 1),
                          **{k: round(v, 4) for k, v in r["final_loss"].items()}} for name, r in flat])
