"""Where the real data lives: one function, :func:`data_root`, and a dataset-folder resolver.

Order of precedence: an explicit argument, else the ``HIERWBC_DATA`` environment variable,
else ``../shared/data`` next to the repository (or next to the current directory) when it
exists. An explicit argument or ``HIERWBC_DATA`` that does not exist is an error naming it,
never a silent fall-back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

ENV_VAR = "HIERWBC_DATA"
CACHE_VAR = "HIERWBC_CACHE"
REPO = Path(__file__).resolve().parents[2]


class DataNotFoundError(FileNotFoundError):
    """The data folder, or a dataset inside it, is not where it was looked for."""


def _default_candidates() -> list[Path]:
    out = [REPO.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    return list(dict.fromkeys(p.absolute() for p in out))


def data_root(root: str | os.PathLike | None = None, required: bool = True) -> Path | None:
    """The folder holding the real datasets (``pbc/``, ``bccd/``, ``segmentation_wbc/``).

    ``root`` if given, else ``$HIERWBC_DATA``, else ``../shared/data`` relative to the
    repository or to the current directory. Returns an absolute path; raises
    :class:`DataNotFoundError` listing what was tried (or returns ``None`` when
    ``required=False``).
    """
    if root is not None:
        path = Path(root).expanduser().absolute()
        if path.exists():
            return path
        if not required:
            return None
        raise DataNotFoundError(f"data folder {str(path)!r} (given as an argument) does not exist")
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser().absolute()
        if path.is_dir():
            return path
        if not required:
            return None
        raise DataNotFoundError(f"{ENV_VAR}={env!r} is not a folder")
    tried = _default_candidates()
    for path in tried:
        if path.is_dir():
            return path
    if not required:
        return None
    raise DataNotFoundError(
        "no data folder: pass root=..., set HIERWBC_DATA, or provide ../shared/data "
        f"(tried {', '.join(map(str, tried))})"
    )


def cache_root() -> Path:
    """Where derived, re-computable files are kept across runs (near-duplicate tables, embedded
    references): ``$HIERWBC_CACHE``, else ``$XDG_CACHE_HOME/hierwbc``, else ``~/.cache/hierwbc``."""
    env = os.environ.get(CACHE_VAR)
    if env:
        return Path(env).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().absolute() / "hierwbc"


def find_dataset_dir(name: str, root: str | os.PathLike | None, candidates: Sequence[str],
                     accept: Callable[[Path], bool], required: bool = True) -> Path | None:
    """The folder of dataset ``name``: ``root`` itself or one of ``root/<candidate>``.

    ``root`` may be the data folder (``root/<name>/...``) or point directly at the dataset's
    own folder; the first candidate for which ``accept(path)`` holds wins. Candidates are tried
    in the order given ("" = ``root`` itself).
    """
    base = data_root(root, required=required)
    if base is None:
        return None
    tried = []
    for rel in candidates:
        path = base / rel if rel else base
        tried.append(str(path))
        if path.is_dir() and accept(path):
            return path
    if not required:
        return None
    raise DataNotFoundError(f"dataset {name!r} not found under {str(base)!r} (looked at: {', '.join(tried)})")
