"""One-process behaviour of the distributed helpers (no process group initialised)."""

import torch

from hierwbc.train import distributed as d


def test_one_process_defaults(monkeypatch):
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "SLURM_NTASKS"):
        monkeypatch.delenv(k, raising=False)
    info = d.init_distributed(device="cpu")
    assert (info.rank, info.world_size, info.is_main) == (0, 1, True)
    t = torch.tensor([1.0, 2.0])
    assert torch.equal(d.all_reduce_sum(t.clone()), t)
    assert torch.equal(d.all_reduce_mean(t.clone()), t)
    d.barrier()
