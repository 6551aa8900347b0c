"""Full (unsharded) model and optimizer states, keyed by parameter name, for checkpoints that
load the same whether the run that wrote them (or the one that reads them) was one process, DDP
or FSDP2. With FSDP2 every process must call these functions (they gather shards)."""

from __future__ import annotations

import torch
from torch import nn


def _full(t):
    return t.full_tensor() if hasattr(t, "full_tensor") else t


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """``state_dict`` with every sharded tensor gathered, on the CPU."""
    return {k: _full(v).detach().cpu() if torch.is_tensor(v) else v for k, v in model.state_dict().items()}


def optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """``{"state": {param name: {...}}, "param_groups": [{..., "params": [param names]}]}``."""
    names = {id(p): n for n, p in model.named_parameters()}
    state = {names[id(p)]: {k: _full(v).detach().cpu() if torch.is_tensor(v) else v
                            for k, v in optimizer.state[p].items()}
             for g in optimizer.param_groups for p in g["params"] if p in optimizer.state}
    groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [names[id(p)] for p in g["params"]]}
              for g in optimizer.param_groups]
    return {"state": state, "param_groups": groups}


def _like(full: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    if hasattr(p, "device_mesh") and full.shape == p.shape:
        from torch.distributed.tensor import distribute_tensor

        return distribute_tensor(full.to(p.device_mesh.device_type), p.device_mesh, p.placements)
    return full


def load_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Inverse of :func:`optimizer_state` for an optimizer built the same way (same groups and
    parameter names); full tensors are re-sharded to match sharded parameters."""
    params = dict(model.named_parameters())
    current = [[n for n, p in params.items() if any(p is q for q in g["params"])] for g in optimizer.param_groups]
    index, flat = {}, 0
    for g, names in zip(optimizer.param_groups, current):
        for p in g["params"]:
            index[next(n for n in names if params[n] is p)] = flat
            flat += 1
    wanted = [sorted(g["params"]) for g in saved["param_groups"]]
    if sorted(map(sorted, wanted)) != sorted(sorted(n) for n in current):
        raise ValueError("the saved optimizer state was made for other parameter groups")
    state = {index[n]: {k: _like(v, params[n]) if torch.is_tensor(v) and v.ndim else v for k, v in s.items()}
             for n, s in saved["state"].items()}
    groups = []
    for g, sg in zip(optimizer.param_groups, _match_groups(saved["param_groups"], current)):
        groups.append({**{k: v for k, v in sg.items() if k != "params"},
                       "params": [index[n] for n in sorted(sg["params"], key=lambda n: index[n])]})
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _match_groups(saved_groups: list[dict], current: list[list[str]]) -> list[dict]:
    by_names = {tuple(sorted(g["params"])): g for g in saved_groups}
    return [by_names[tuple(sorted(names))] for names in current]
