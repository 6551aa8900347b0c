"""The sbatch script launches torchrun on N nodes x G GPUs and is valid bash."""

import subprocess

import pytest

from hierwbc.train.slurm import sbatch_script, write_sbatch


def test_script_launches_torchrun_with_the_allocation(tmp_path):
    p = write_sbatch(tmp_path / "job.sh", ["--preset", "hierce", "--out", "runs/my run", "alpha=0.5"],
                     nodes=3, gpus=8, cpus=64, partition="gpu", account="lab")
    text = p.read_text()
    assert "#SBATCH --nodes=3" in text and "#SBATCH --gpus-per-node=8" in text
    assert "#SBATCH --partition=gpu" in text and "#SBATCH --account=lab" in text
    assert "--nnodes=3 --nproc_per_node=8" in text
    assert "-m hierwbc.cli train --preset hierce --out 'runs/my run' alpha=0.5 --resume" in text
    assert "OMP_NUM_THREADS=8" in text
    assert p.stat().st_mode & 0o111
    subprocess.run(["bash", "-n", str(p)], check=True)


def test_invalid_allocation_is_refused():
    with pytest.raises(ValueError, match="nodes=0"):
        sbatch_script([], nodes=0)
