"""bench/gpu_check.sh in its 2-step CPU mode: every part runs and the JSON holds what the GPU
run reports (step throughput as a share of the matmul rate, a kNN curve)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_check_cpu_smoke_writes_its_results(tmp_path, data_root):
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), "--cpu-smoke", "--data-root", str(data_root)],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads((tmp_path / "gpu_check.json").read_text())
    step = out["train_step"]
    assert out["smoke"] and step["step_flops"] > 0 and step["images_per_s"] > 0
    assert step["share_of_bf16_matmul"] == step["achieved_flops_per_s"] / out["bf16_matmul_flops_per_s"]
    curve = out["pretrain"]["knn_curve"]
    assert [c["step"] for c in curve] == [0, 1, 2] and all(0 <= c["knn_bacc"] <= 1 for c in curve)
