"""A run killed with SIGKILL and resumed ends with the same weights as one that never stopped."""

import os
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import torch

from hierwbc.train.checkpointing import list_checkpoints, load_checkpoint
from hierwbc.train.loop import fit

from .helpers import TINY

CONFIG = {**TINY, "model.img_size": 28, "data.limit": 48, "checkpoint_every": 2, "max_steps": 5,
          "model.drop_path_rate": 0.1}

# Every run is a fresh process with one thread: float results depend on the thread count (the
# reductions split differently), and the pytest worker's count is not ours to rely on.
CHILD = textwrap.dedent("""
    import os, signal, sys
    import torch
    torch.set_num_threads(1)
    from hierwbc.train import loop
    original = loop._Loop.step

    def step(self, step, *args):
        if sys.argv[3] == "kill" and step == 3:  # after the checkpoint of step 2, mid-run
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, step, *args)

    loop._Loop.step = step
    loop.fit(None, preset="hierce", out=sys.argv[1], progress=False, resume=sys.argv[3] == "resume",
             **eval(sys.argv[2]))
""")


def _finished(run_dir):
    return {"checkpoint": list_checkpoints(run_dir)[-1],
            "metrics": pd.read_json(run_dir / "metrics.jsonl", lines=True)}


def _fit_in_child(out, cfg, mode):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", CHILD, str(out), repr(cfg), mode], check=False,
                          capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, data_root):
    cfg = {**CONFIG, "data.root": str(data_root)}
    proc = _fit_in_child(tmp_path / "straight", cfg, "straight")
    assert proc.returncode == 0, proc.stderr[-2000:]
    straight = _finished(tmp_path / "straight")

    killed = tmp_path / "killed"
    proc = _fit_in_child(killed, cfg, "kill")
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert [p.name for p in list_checkpoints(killed)] == ["step_000002.pt"]
    assert not [p for p in (killed / "checkpoints").iterdir() if p.name.startswith(".")]  # no temp files left

    proc = _fit_in_child(killed, cfg, "resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    resumed = _finished(killed)
    a, b = load_checkpoint(straight["checkpoint"]), load_checkpoint(resumed["checkpoint"])
    assert a["step"] == b["step"] == 5
    teacher = [k for k in a["model"] if k.startswith("teacher.")]
    assert teacher
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k  # bitwise on this CPU
    assert list(resumed["metrics"]["step"]) == [0, 1, 2, 3, 4]
    torch.testing.assert_close(torch.tensor(resumed["metrics"]["loss"].to_numpy()),
                               torch.tensor(straight["metrics"]["loss"].to_numpy()), rtol=0, atol=0)


def test_resume_with_another_model_config_is_refused(tmp_path, data_root):
    cfg = {**CONFIG, "max_steps": 1, "data.root": str(data_root)}
    fit(None, preset="hierce", out=str(tmp_path / "r"), progress=False, **cfg)
    with pytest.raises(ValueError, match="model config differs"):
        fit(None, preset="hierce", out=str(tmp_path / "r"), progress=False, resume=True,
            **{**cfg, "model.img_size": 42})
    with pytest.raises(ValueError, match="it trained 'hierce'"):
        fit(None, preset="ce", out=str(tmp_path / "r"), progress=False, resume=True, **cfg)
