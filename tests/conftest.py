"""Shared test fixtures: headless plotting, the real data location, seeded RNGs."""
import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # one BLAS/OpenMP thread per xdist worker: with `-n 2` on 2 cores, 2 threads each oversubscribe
    # the cores and spinning OpenMP threads make every small op ~10x slower
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]


def _data_root() -> Path | None:
    env = os.environ.get("HIERWBC_DATA")
    root = Path(env) if env else REPO.parent / "shared" / "data"
    return root if root.is_dir() else None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data folder (HIERWBC_DATA or ../shared/data); skips the test when absent."""
    root = _data_root()
    if root is None:
        pytest.skip("real WBC data not found (set HIERWBC_DATA or provide ../shared/data)")
    return root
