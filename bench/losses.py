"""Forward+backward time of each supervised loss against per-sample references, same process.

    .venv/bin/python bench/losses.py [--batch 256] [--dim 128] [--threads 2] [--min-time 1.0] [--rounds 5]

For a batch on the default tree (targets: 80 % leaves, 15 % internal nodes, 5 % unlabelled)
it times ``loss(out, targets).backward()`` of every loss of ``hierwbc.losses.get_loss`` and of
a naive per-sample Python loop computing the same value (checked), and prints the ratio.
HierCE is also timed against the one-hot formulation of the published code (masks
``[classes, leaves, depth]`` gathered per target and reduced with ``bmm``, as
``HierarchicalLLLoss`` of fiveai/making-better-mistakes and the paper's pseudo-code), and
HierSupCon against the published structure (a Python loop building each sample's mask row
per level, as ``HMLC`` of salesforce/hierarchicalContrastiveLearning). Targets on 2 CPU
cores: HierCE faster than the one-hot formulation; HierSupCon under 1 ms per step.

Times: the fastest of ``--rounds`` interleaved ``torch.utils.benchmark`` block medians
(warm-up first; on a shared machine other load only adds time), per-sample loops as the
median of 3 runs. SupCon/HierSupCon also show ``x @ x.T`` forward+backward alone, the floor
any implementation pays. Results go to ``bench/results/losses.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from itertools import pairwise
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="supervised-loss benchmark (see the module docstring)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--dim", type=int, default=128,
                    help="embedding width for SupCon/HierSupCon (128: the projection width of Khosla et al.)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds of timing per function")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the fastest median is kept")
    ap.add_argument("--omp-active", action="store_true",
                    help="keep OpenMP's default spin-waiting (PASSIVE is set otherwise: on a shared, loaded "
                         "machine spinning threads make 2-thread timings meaningless)")
    ap.add_argument("--no-write", action="store_true")
    return ap.parse_args(argv)


if __name__ == "__main__" and not parse_args().omp_active:  # must precede the torch import
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils import benchmark
from tqdm.auto import tqdm

from hierwbc.hierarchy import default_hierarchy
from hierwbc.io import atomic_write_text
from hierwbc.losses import LOSSES, get_loss, input_kind
from hierwbc.losses.hier_ce import edge_weights

RESULTS = Path(__file__).resolve().parent / "results" / "losses.json"


# ----------------------------------------------------------------------------- baselines
class OneHotHierCE(torch.nn.Module):
    """The published one-hot formulation: ``onehot_num/den`` [N, L, D] and ``weights`` [N, D]
    gathered per target, two ``bmm``s, ``-log(num/den)`` where ``num != 0`` (fiveai's forward).
    Rows follow the path from each node (leaf or internal) to the root."""

    def __init__(self, h, alpha: float = 0.5) -> None:
        super().__init__()
        n, n_leaves, d = len(h.nodes), len(h.leaves), max(h.max_depth, 1)
        lam = edge_weights(h, alpha)
        num, den, w = np.zeros((n, n_leaves, d)), np.zeros((n, n_leaves, d)), np.zeros((n, d))
        for t in range(n):
            path = [h.node_index[x] for x in h.path_to_root(h.nodes[t])]
            for k, (c, up) in enumerate(pairwise(path)):
                num[t, :, k], den[t, :, k], w[t, k] = h.membership[c], h.membership[up], lam[c]
        self.register_buffer("onehot_num", torch.tensor(num, dtype=torch.float32))
        self.register_buffer("onehot_den", torch.tensor(den, dtype=torch.float32))
        self.register_buffer("weights", torch.tensor(w, dtype=torch.float32))

    def forward(self, logits, target):
        keep = target > 0
        logits, target = logits[keep], target[keep]
        p = torch.softmax(logits, 1).unsqueeze(1)
        num = torch.bmm(p, self.onehot_num[target]).squeeze(1)
        den = torch.bmm(p, self.onehot_den[target]).squeeze(1)
        idx = num != 0
        num[idx] = -torch.log(num[idx] / den[idx])
        return torch.sum(torch.flip(self.weights[target] * num, dims=[1]), dim=1).mean()


def naive_loop(name: str, h, out, targets, loss_kw):
    """Per-sample Python loop computing the same value as ``get_loss(name, h)``."""
    t_list = targets.tolist()
    leaves = {n: torch.tensor([h.leaf_index[x] for x in h.leaves_under(n)]) for n in h.nodes}
    labeled = [b for b, t in enumerate(t_list) if t > 0]
    if name in ("ce", "hierce", "distance", "softlabel"):
        lam = edge_weights(h, 0.5)
        dist = get_loss(name, h).table if name == "distance" else None
        soft = get_loss(name, h).soft if name == "softlabel" else None
        terms = []
        for b in labeled:
            node = h.nodes[t_list[b]]
            lsm = torch.log_softmax(out[b], 0)
            if name == "ce":
                if h.children(node):
                    continue
                terms.append(-lsm[h.leaf_index[node]])
            elif name == "hierce":
                path = h.path_to_root(node)
                logp = {x: torch.logsumexp(lsm[leaves[x]], 0) for x in path}
                terms.append(sum(-lam[h.node_index[c]] * (logp[c] - logp[u]) for c, u in pairwise(path)))
            elif name == "distance":
                terms.append((lsm.exp() * dist[t_list[b]].float()).sum())
            else:
                terms.append(-(soft[t_list[b]].float() * lsm).sum())
        return torch.stack(terms).mean()
    if name == "multilevel":
        depth = h.depth
        terms = []
        for b in labeled:
            path = h.path_to_root(h.nodes[t_list[b]])[:-1]
            per = [torch.logsumexp(out[b][torch.tensor(np.nonzero(depth == depth[h.node_index[x]])[0])], 0)
                   - out[b][h.node_index[x]] for x in path]
            terms.append(sum(per) / len(per))
        return torch.stack(terms).mean()
    # contrastive: build each sample's positive-mask row in a Python loop (the published structure)
    z = F.normalize(out, dim=1)
    tau = 0.07
    sim = z @ z.T / tau
    if name == "supcon":
        levels = [[t if t > 0 and not h.children(h.nodes[t]) else -1 for t in t_list]]
    else:
        table = get_loss("hiersupcon", h).labels
        levels = [[int(table[t if t >= 0 else -1, k]) for t in t_list] for k in range(h.max_depth)]
    level_losses = []
    for lab in levels:
        rows, dens = [], []
        for i in range(len(lab)):  # per-sample mask row, as HMLC builds it
            rows.append(torch.tensor([lab[j] == lab[i] and lab[i] >= 0 and j != i for j in range(len(lab))]))
            dens.append(torch.tensor([lab[j] >= 0 and j != i for j in range(len(lab))]))
        pos, den = torch.stack(rows).float(), torch.stack(dens)
        n_pos = pos.sum(1)
        valid = n_pos > 0
        if not valid.any():
            level_losses.append(None)
            continue
        log_den = torch.logsumexp(sim.masked_fill(~den, -1e30), 1)
        per = log_den - (pos * sim).sum(1) / n_pos.clamp_min(1)
        level_losses.append(per[valid].mean())
    if name == "supcon":
        return level_losses[0]
    total, running, n_active = 0.0, None, 0
    for lvl, value in enumerate(level_losses, start=1):
        if value is None:
            continue
        running = value if running is None else torch.maximum(running, value)
        total = total + running / lvl
        n_active += 1
    return total / n_active


def published_hmlc(features, paths, tau=0.07):
    """Timing baseline with the structure of the published HMLC (salesforce/
    hierarchicalContrastiveLearning, ``loss_type='hmce'``, ``pow_2`` penalty): label columns
    coarse -> fine plus an instance column, levels made by zeroing the finest columns, each
    level's mask stacked row by row in a Python loop over samples, SupCon on that mask, running
    max, then one sample kept per distinct label. Its value differs from ours (deduplication,
    padding treated as a label), so only its time is compared."""
    b = features.shape[0]
    labels = torch.cat([paths, torch.arange(b).unsqueeze(1)], 1)
    cols = labels.shape[1]
    mask = torch.ones_like(labels)
    feats = F.normalize(features, dim=1)
    total, lower = features.new_zeros(()), features.new_tensor(float("-inf"))
    for level in range(1, cols):
        mask[:, cols - level:] = 0
        layer = labels * mask
        rows = torch.stack([torch.all(torch.eq(layer[i], layer), dim=1) for i in range(layer.shape[0])]).float()
        sim = feats @ feats.T / tau
        logits = sim - sim.max(1, keepdim=True).values.detach()
        not_self = 1 - torch.eye(len(rows))
        rows = rows * not_self
        log_prob = logits - torch.log((torch.exp(logits) * not_self).sum(1, keepdim=True))
        layer_loss = -((rows * log_prob).sum(1) / rows.sum(1).clamp_min(1)).mean()
        layer_loss = torch.maximum(lower, layer_loss)
        total = total + 2 ** (1 / level) * layer_loss
        _, inverse = torch.unique(layer, dim=0, return_inverse=True)
        keep = torch.zeros(int(inverse.max()) + 1, dtype=torch.long).scatter_(0, inverse, torch.arange(len(inverse)))
        lower = torch.maximum(lower, layer_loss)
        labels, mask, feats = labels[keep], mask[keep], feats[keep]
    return total / cols


# ----------------------------------------------------------------------------- timing
def _step(fn, x):
    def step():
        x.grad = None
        fn(x).backward()

    return step


def time_interleaved(fns: dict, x, min_time: float, rounds: int) -> dict:
    """Seconds per ``fn(x).backward()`` for each of ``fns``: the fastest of ``rounds``
    interleaved ``blocked_autorange`` medians (other load only ever adds time)."""
    steps = {k: _step(f, x) for k, f in fns.items()}
    for step in steps.values():  # warm-up
        for _ in range(3):
            step()
    best = dict.fromkeys(steps, math.inf)
    for _ in range(rounds):
        for k, step in steps.items():
            timer = benchmark.Timer(stmt="step()", globals={"step": step}, num_threads=torch.get_num_threads())
            best[k] = min(best[k], timer.blocked_autorange(min_run_time=min_time / rounds).median)
    return best


def time_slow(fn, x, runs: int = 3) -> float:
    """Median seconds of a slow per-sample loop (``runs`` runs after one warm-up)."""
    step = _step(fn, x)
    step()
    return benchmark.Timer(stmt="step()", globals={"step": step},
                           num_threads=torch.get_num_threads()).timeit(runs).median


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    h = default_hierarchy()
    b = args.batch
    internal = np.nonzero(~h.is_leaf)[0][1:]
    kind = rng.random(b)
    targets = np.where(kind < 0.8, rng.choice(h.leaf_nodes, b), rng.choice(internal, b))
    targets = torch.tensor(np.where(kind > 0.95, -1, targets))
    widths = {"leaf_logits": len(h.leaves), "depth_logits": len(h.nodes), "embedding": args.dim}
    load_before = os.getloadavg()[0]

    rows = []
    for name in tqdm(LOSSES, desc="losses", disable=None):
        loss = get_loss(name, h)
        x = torch.randn(b, widths[input_kind(name)], requires_grad=True)
        ours = loss(x, targets)
        ref = naive_loop(name, h, x, targets, {})
        assert math.isclose(ours.item(), ref.item(), rel_tol=1e-4), (name, ours.item(), ref.item())
        fns = {"ours": lambda z, loss=loss: loss(z, targets)}
        if name == "hierce":
            onehot = OneHotHierCE(h)
            assert math.isclose(onehot(x, targets).item(), ours.item(), rel_tol=1e-4)
            fns["onehot"] = lambda z, onehot=onehot: onehot(z, targets)
        if input_kind(name) == "embedding":  # the unavoidable part: x @ x.T forward and backward
            fns["gram_floor"] = lambda z: (z @ z.T).sum()
        if name == "hiersupcon":
            paths = torch.as_tensor(h.ancestor_at_depth[:, 1:].copy()).index_select(0, targets.clamp_min(0))
            fns["published"] = lambda z, paths=paths: published_hmlc(z, paths)
        times = time_interleaved(fns, x, args.min_time, args.rounds)
        t_ours = times.pop("ours")
        t_naive = time_slow(lambda z, name=name: naive_loop(name, h, z, targets, {}), x)
        row = {"loss": name, "ours_ms": t_ours * 1e3, "naive_ms": t_naive * 1e3, "naive_over_ours": t_naive / t_ours}
        for k, t in times.items():
            row[f"{k}_ms"] = t * 1e3
            if k != "gram_floor":
                row[f"{k}_over_ours"] = t / t_ours
        rows.append(row)

    result = {
        "command": " ".join(["python bench/losses.py", *(argv if argv is not None else sys.argv[1:])]),
        "batch": b, "dim": args.dim, "threads": torch.get_num_threads(), "torch": torch.__version__,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)"),
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]}, "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "tree": {"nodes": len(h.nodes), "leaves": len(h.leaves), "max_depth": h.max_depth},
        "rows": rows,
        "targets_met": {
            "hierce_faster_than_onehot": next(r for r in rows if r["loss"] == "hierce")["onehot_over_ours"] > 1,
            "hiersupcon_under_1ms": next(r for r in rows if r["loss"] == "hiersupcon")["ours_ms"] < 1.0,
        },
    }
    print(f"batch {b}, {result['threads']} threads, dim {args.dim}, default tree ({len(h.nodes)} nodes, "
          f"{len(h.leaves)} leaves); load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'loss':<11} {'ours ms':>8} {'naive ms':>9} {'naive/ours':>10}   baseline")
    for r in rows:
        extra = []
        if "onehot_ms" in r:
            extra.append(f"one-hot bmm {r['onehot_ms']:.3f} ms ({r['onehot_over_ours']:.2f}x ours)")
        if "published_ms" in r:
            extra.append(f"published HMLC structure {r['published_ms']:.3f} ms ({r['published_over_ours']:.2f}x ours)")
        if "gram_floor_ms" in r:
            extra.append(f"x @ x.T alone {r['gram_floor_ms']:.3f} ms")
        print(f"{r['loss']:<11} {r['ours_ms']:>8.3f} {r['naive_ms']:>9.1f} {r['naive_over_ours']:>9.0f}x   "
              f"{'; '.join(extra)}")
    print("targets:", result["targets_met"])
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(RESULTS, json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")
    return result


if __name__ == "__main__":
    main()
