"""Load DINOv2 hub, DinoBloom and our own checkpoints into a :class:`DinoVisionTransformer`.

Key layouts recognised by :func:`extract_backbone_state` (see facebookresearch/dinov2
``dinov2/hub/backbones.py`` and ``dinov2/models/vision_transformer.py`` for the names,
``dinov2/utils/utils.py::load_pretrained_weights`` for the ``teacher``/``backbone.``
convention DinoBloom uses):

* hub file: flat backbone keys ``cls_token``, ``pos_embed`` (518 px: 1 + 37*37 tokens),
  ``mask_token``, ``patch_embed.proj.*``, ``blocks.{i}.*``, ``norm.*``, ``register_tokens``
  for the ``_reg`` models, ``mlp.w12/w3`` for giant;
* chunked blocks (``block_chunks > 0``): ``blocks.{chunk}.{i}.*`` where ``i`` is already
  the global block index (upstream pads chunks with Identity), mapped to ``blocks.{i}.*``;
* DinoBloom: ``{"teacher": {"backbone.*": ..., "dino_head.*": ..., "ibot_head.*": ...}}``
  with a 224 px ``pos_embed`` of 257 tokens; heads are ignored for the backbone;
* ours / dinov2 training checkpoints: a dict with ``teacher``, ``model`` or ``student``
  (tried in that order) holding a state dict whose backbone keys start with
  ``backbone.`` (or ``teacher.backbone.`` / ``student.backbone.`` for a whole
  meta-architecture). ``module.`` (DDP) and ``_orig_mod.`` (torch.compile) prefixes are
  stripped.

A ``pos_embed`` laid out for another grid is resampled to the model's grid with the
model's own interpolation settings, so loading a 224 px file into a 112 px model gives
what the 224 px model would compute on 112 px input. Everything else must match
exactly: otherwise :class:`CheckpointError` lists missing keys, unexpected keys and shape
mismatches. Files are always read with ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import math
import os
import pickle
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..io import atomic_write
from .layers import interpolate_pos_embed
from .shipped import FORMAT, is_safetensors, read_weights, resolve_weights
from .vit import VIT_SIZES, DinoVisionTransformer, build_vit

RUN_CHECKPOINT_FORMAT = "hierwbc.train"  # the "format" of a training run's checkpoint (hierwbc.train.checkpointing)
_CONTAINER_KEYS = ("teacher", "model", "student", "state_dict")
_BACKBONE_PREFIXES = ("teacher.backbone.", "backbone.", "student.backbone.")
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_CHUNKED_BLOCK = re.compile(r"^blocks\.(\d+)\.(\d+)\.")


class CheckpointError(ValueError):
    """A checkpoint that does not fit the model; the message names every offending key."""

    def __init__(self, message: str, missing: Iterable[str] = (), unexpected: Iterable[str] = (),
                 mismatched: Iterable[tuple[str, tuple, tuple]] = ()) -> None:
        self.missing = sorted(missing)
        self.unexpected = sorted(unexpected)
        self.mismatched = sorted(mismatched)
        lines = [message]
        if self.missing:
            lines.append(f"missing keys ({len(self.missing)}): " + ", ".join(self.missing))
        if self.unexpected:
            lines.append(f"unexpected keys ({len(self.unexpected)}): " + ", ".join(self.unexpected))
        for name, expected, found in self.mismatched:
            lines.append(f"shape mismatch: {name}: model expects {list(expected)}, "
                         f"checkpoint has {list(found)}")
        super().__init__("\n".join(lines))


def load_file(path: str | os.PathLike) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``; refusal -> CheckpointError.

    A safetensors file (or a shipped model's short name, :mod:`hierwbc.models.shipped`) gives
    its flat tensor dict (``backbone.*``, ``sup_head.*``) instead."""
    path = resolve_weights(path)
    if is_safetensors(path):
        return read_weights(path)[0]
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path}: refused by torch.load(weights_only=True): the file holds objects other "
            f"than tensors and plain containers ({err.__class__.__name__})") from err


def _strip_prefix(state: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def unchunk_block_keys(state: Mapping[str, Any]) -> dict[str, Any]:
    """Map chunked ``blocks.{chunk}.{i}.x`` keys to flat ``blocks.{i}.x``; others unchanged.

    A key is chunked when it has two integer levels after ``blocks.``; flat keys such as
    ``blocks.3.norm1.weight`` have one. The inner index is the global index upstream.
    """
    out: dict[str, Any] = {}
    for key, value in state.items():
        match = _CHUNKED_BLOCK.match(key)
        new_key = f"blocks.{match.group(2)}.{key[match.end():]}" if match else key
        if new_key in out:
            raise CheckpointError(f"two checkpoint keys map to {new_key!r}")
        out[new_key] = value
    return out


def extract_backbone_state(obj: Any) -> dict[str, Tensor]:
    """The flat backbone state dict in any recognised layout (see the module docstring)."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"checkpoint is a {type(obj).__name__}, not a dict")
    state: Mapping[str, Any] = obj
    for key in _CONTAINER_KEYS:
        if key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    for prefix in _WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = _strip_prefix(state, prefix)
    for prefix in _BACKBONE_PREFIXES:
        if any(k.startswith(prefix) for k in state):
            state = _strip_prefix(state, prefix)
            break
    for prefix in _WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = _strip_prefix(state, prefix)
    if "pos_embed" not in state or "patch_embed.proj.weight" not in state:
        raise CheckpointError("no ViT backbone found in checkpoint (expected 'pos_embed' and "
                              f"'patch_embed.proj.weight'; top-level keys: {sorted(obj)[:20]})")
    not_tensors = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if not_tensors:
        raise CheckpointError(f"backbone entries that are not tensors: {not_tensors}")
    return unchunk_block_keys(state)


def detect_architecture(state: Mapping[str, Tensor]) -> dict[str, Any]:
    """Architecture of a backbone state dict (any recognised layout), as ``build_vit`` kwargs.

    Returns ``name`` (standard size with this embed_dim, or None), ``embed_dim``, ``depth``,
    ``num_heads`` (from the size table: heads cannot be read from weights; None if the
    width is non-standard), ``patch_size``, ``img_size`` (of the stored pos_embed),
    ``num_register_tokens``, ``ffn`` ("mlp" / "swiglu"), ``mlp_ratio`` and ``layerscale``.
    """
    state = extract_backbone_state(state)
    embed_dim = int(state["pos_embed"].shape[-1])
    patch_size = int(state["patch_embed.proj.weight"].shape[-1])
    depth = 1 + max((int(k.split(".")[1]) for k in state if k.startswith("blocks.")), default=-1)
    ffn = "swiglu" if "blocks.0.mlp.w12.weight" in state else "mlp"
    if ffn == "mlp" and "blocks.0.mlp.fc1.weight" in state:
        mlp_ratio = state["blocks.0.mlp.fc1.weight"].shape[0] / embed_dim
    else:
        mlp_ratio = 4.0
    name = next((n for n, s in VIT_SIZES.items() if s["embed_dim"] == embed_dim), None)
    grid = math.isqrt(state["pos_embed"].shape[1] - 1)
    registers = state.get("register_tokens")
    return {
        "name": name,
        "embed_dim": embed_dim,
        "depth": depth,
        "num_heads": VIT_SIZES[name]["num_heads"] if name else None,
        "patch_size": patch_size,
        "img_size": grid * patch_size,
        "num_register_tokens": int(registers.shape[1]) if registers is not None else 0,
        "ffn": ffn,
        "mlp_ratio": mlp_ratio,
        "layerscale": "blocks.0.ls1.gamma" in state,
    }


def build_vit_from_state(state: Any, img_size: int | None = None,
                         **overrides: Any) -> DinoVisionTransformer:
    """An (unloaded) model matching a checkpoint's architecture, at ``img_size`` if given.

    Register models get dinov2's hub settings (``interpolate_offset=0``, antialias on).
    """
    arch = detect_architecture(extract_backbone_state(state))
    if arch["num_heads"] is None and "num_heads" not in overrides:
        raise CheckpointError(f"non-standard embed_dim {arch['embed_dim']}: pass num_heads")
    kwargs: dict[str, Any] = {
        "img_size": img_size or arch["img_size"], "patch_size": arch["patch_size"],
        "embed_dim": arch["embed_dim"], "depth": arch["depth"], "num_heads": arch["num_heads"],
        "mlp_ratio": arch["mlp_ratio"], "ffn_layer": arch["ffn"],
        "num_register_tokens": arch["num_register_tokens"],
        "init_values": 1.0 if arch["layerscale"] else None,
    }
    if arch["num_register_tokens"]:
        kwargs.update(interpolate_offset=0.0, interpolate_antialias=True)
    kwargs.update(overrides)
    return DinoVisionTransformer(**kwargs)


def backbone_from_weights(tensors: Mapping[str, Tensor], metadata: Mapping[str, str],
                          img_size: int | None = None):
    """The ViT described by a weights file's metadata, with its ``backbone.*`` tensors loaded
    (float32); ``img_size`` overrides the stored input size (position embedding resampled)."""
    if metadata.get("format") != FORMAT or "arch" not in metadata:
        model = build_vit_from_state(dict(tensors), img_size=img_size)
    else:
        layerscale = float(metadata.get("layerscale", 0) or 0)
        model = build_vit(metadata["arch"], img_size=int(img_size or metadata["img_size"]),
                          patch_size=int(metadata["patch_size"]),
                          num_register_tokens=int(metadata.get("num_register_tokens", 0)),
                          init_values=layerscale or None)
    load_backbone_state({k: v.float() for k, v in tensors.items()}, model)
    return model


def _fit_pos_embed(state: dict[str, Tensor], model: nn.Module) -> None:
    """Resample ``state['pos_embed']`` in place to the model's grid when the sizes differ."""
    found, expected = state.get("pos_embed"), getattr(model, "pos_embed", None)
    if found is None or expected is None or found.shape == expected.shape:
        return
    if found.ndim != 3 or found.shape[-1] != expected.shape[-1]:
        return  # left for the shape check to report
    grid = math.isqrt(expected.shape[1] - 1)
    if math.isqrt(found.shape[1] - 1) ** 2 != found.shape[1] - 1:
        return
    state["pos_embed"] = interpolate_pos_embed(
        found, (grid, grid), getattr(model, "interpolate_offset", 0.1),
        getattr(model, "interpolate_antialias", False))


def load_backbone_state(path_or_state: str | os.PathLike | Mapping[str, Any], model: nn.Module,
                        ignore_missing: Iterable[str] = ()) -> dict[str, list[str]]:
    """Load a backbone checkpoint (path or already-loaded object) into ``model``, strictly.

    ``ignore_missing`` names model keys that may be absent from the file (e.g.
    ``("mask_token",)`` for files that dropped it); they keep the model's values.
    Returns ``{"loaded": [...], "ignored_missing": [...]}``. Raises CheckpointError
    naming missing keys, unexpected keys and shape mismatches (name, expected, found).
    """
    obj = load_file(path_or_state) if isinstance(path_or_state, (str, os.PathLike)) else path_or_state
    state = dict(extract_backbone_state(obj))
    _fit_pos_embed(state, model)
    expected = model.state_dict()
    allowed_missing = set(ignore_missing)
    missing = [k for k in expected if k not in state and k not in allowed_missing]
    unexpected = [k for k in state if k not in expected]
    mismatched = [(k, tuple(expected[k].shape), tuple(v.shape))
                  for k, v in state.items() if k in expected and v.shape != expected[k].shape]
    if missing or unexpected or mismatched:
        hint = ""
        try:
            arch = detect_architecture(state)
            hint = f" (the checkpoint looks like: {arch})"
        except (CheckpointError, KeyError, ValueError):
            pass
        raise CheckpointError("checkpoint does not match the model" + hint,
                              missing, unexpected, mismatched)
    model.load_state_dict(state, strict=False)
    return {"loaded": sorted(state), "ignored_missing": sorted(k for k in expected if k not in state)}


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically (:func:`hierwbc.io.atomic_write`): a crash
    at any moment leaves either the old file or the complete new one."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))
