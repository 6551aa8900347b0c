"""Atomic file writes: the one way every part of hierwbc puts a file on disk.

A writer fills a temporary file in the target's folder; the file is fsynced, renamed onto the
target (``os.replace``) and the folder fsynced. A crash or an exception at any moment leaves
either the old file or the complete new one, never a truncated file, and no temporary file.

>>> atomic_write_text(path, "hello\\n")                               # doctest: +SKIP
>>> atomic_write(path, lambda tmp: torch.save(state, tmp))           # doctest: +SKIP

This module imports nothing of hierwbc, so every layer (``hierarchy`` included) may use it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text", "default_file_mode"]


def default_file_mode() -> int:
    """The mode ``open()`` would give a new file (0o666 minus the umask); ``mkstemp`` uses 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync(path: Path, flags: int) -> None:
    """fsync ``path`` (a file or, with ``os.O_DIRECTORY``, a folder); a folder that cannot be
    opened or synced (some file systems) is let be."""
    try:
        fd = os.open(path, flags)
    except OSError:
        if flags & os.O_DIRECTORY:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not flags & os.O_DIRECTORY:
            raise
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object],
                 suffix: str = ".tmp") -> Path:
    """Call ``write(tmp)`` to fill a temporary file, then move it onto ``path`` atomically.

    ``tmp`` is an (empty, existing) path ``.<name>.<random><suffix>`` in ``path``'s folder
    (created if needed); ``write`` may open it or hand it to a library (``torch.save``,
    ``savefig``, ``AnnData.write_h5ad``). Pass a ``suffix`` ending as a library expects
    (``np.save`` appends ``.npy`` to any other name). The file gets :func:`default_file_mode`.
    If ``write`` raises, the temporary file is removed, ``path`` is untouched and the error
    propagates. Returns ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, default_file_mode())  # after: a library may replace tmp by its own 0o600 file
        _fsync(tmp, os.O_RDONLY)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
