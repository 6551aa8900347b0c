"""What the benchmarks share: interleaved best-of-N timing in one process, the real cells they
time on, and writing a result file."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def best_times(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Seconds of the fastest of ``rounds`` calls of each run, the runs interleaved round by round
    (so a slower machine phase hits every run alike)."""
    best = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def pbc_test_cells(n: int):
    """``n`` cells of the PBC test split (seeded sample; columns ``path``, ``node``)."""
    from hierwbc.datasets import read_dataset
    from hierwbc.datasets.splits import split_rows

    return split_rows(read_dataset("pbc", None), "test", 0.2, 0).sample(n, random_state=0)[["path", "node"]]


def machine() -> dict[str, str]:
    import torch

    return {"machine": platform.processor() or platform.machine(), "torch": torch.__version__}


def write_result(name: str, result: dict) -> Path:
    """Print ``result`` and write it to ``bench/results/<name>.json`` atomically."""
    from hierwbc.io import atomic_write_text

    print(json.dumps(result, indent=1))
    out = atomic_write_text(RESULTS / f"{name}.json", json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return out
