"""Weights shipped inside the package, and the safetensors format they are stored in.

``hierwbc/weights/<name>.safetensors`` (package data, so a short name resolves after a
regular, non-editable install too) with its model card ``hierwbc/weights/README.md``. A file
holds float16 tensors ``backbone.*`` (a :class:`~hierwbc.models.vit.DinoVisionTransformer`,
the teacher of a training run) and optionally ``sup_head.*`` (a supervised head), plus string
metadata: ``format`` = ``hierwbc.weights``, ``arch``, ``img_size``, ``patch_size``,
``num_register_tokens``, ``layerscale`` (and ``hierarchy`` / ``sup_loss`` for a head, and
provenance such as ``steps`` and ``config``). safetensors files hold tensors only: loading
one never unpickles anything.

Anywhere a checkpoint path is taken (``--pretrained``, ``hierwbc embed --checkpoint``,
``embed(...)``, :func:`hierwbc.models.checkpoints.load_file`), a shipped file's short name
(e.g. ``"hierwbc-tiny-pbc"``) works too.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..io import atomic_write

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
FORMAT = "hierwbc.weights"


def shipped_weights() -> dict[str, Path]:
    """``{short name: path}`` of every ``.safetensors`` file in the package's weights folder."""
    return {p.stem: p for p in sorted(WEIGHTS_DIR.glob("*.safetensors"))}


def is_shipped_name(name: Any) -> bool:
    return isinstance(name, str) and name in shipped_weights()


def resolve_weights(name_or_path: str | os.PathLike) -> Path:
    """An existing file path as is, or the file of a shipped short name; anything else raises
    FileNotFoundError naming the shipped files (and the closest name)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_weights()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    close = difflib.get_close_matches(str(name_or_path), list(shipped), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise FileNotFoundError(f"{str(name_or_path)!r} is neither a file nor a shipped model "
                            f"({', '.join(shipped) or 'none shipped'}){hint}")


def save_weights(tensors: Mapping[str, Tensor], path: str | os.PathLike,
                 metadata: Mapping[str, Any], dtype: torch.dtype | None = torch.float16) -> Path:
    """Write ``tensors`` (floating ones cast to ``dtype``; None keeps each tensor's dtype) and
    ``metadata`` (values turned into strings; dicts/lists as JSON) to a safetensors file, atomically."""
    from safetensors.torch import save_file

    out = {k: (v.detach().to(dtype) if v.is_floating_point() and dtype is not None else v.detach()).contiguous().cpu()
           for k, v in tensors.items()}
    meta = {"format": FORMAT}
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()})
    return atomic_write(path, lambda tmp: save_file(out, str(tmp), metadata=meta))


def read_weights(name_or_path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, str]]:
    """``(tensors, metadata)`` of a safetensors file or shipped name (tensors as stored)."""
    from safetensors import safe_open

    with safe_open(str(resolve_weights(name_or_path)), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})  # noqa: SIM118 (no dict)


def read_metadata(name_or_path: str | os.PathLike) -> dict[str, str]:
    """The metadata of a safetensors file or shipped name, without reading its tensors."""
    from safetensors import safe_open

    with safe_open(str(resolve_weights(name_or_path)), framework="pt") as f:
        return dict(f.metadata() or {})


def is_safetensors(path: str | os.PathLike) -> bool:
    """True for a file starting like a safetensors file (8-byte header length, then ``{``)."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000
