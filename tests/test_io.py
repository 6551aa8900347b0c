import os

import numpy as np
import pytest

from hierwbc.io import atomic_write, atomic_write_text, default_file_mode


def test_atomic_write_text_replaces_the_file_with_the_default_mode(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    assert atomic_write_text(path, "one\n") == path
    atomic_write_text(path, "two\n")
    assert path.read_text() == "two\n"
    assert path.stat().st_mode & 0o777 == default_file_mode()
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]


def test_a_writer_that_replaces_the_temp_file_still_leaves_the_default_mode(tmp_path):
    # safetensors' save_file writes its own file over the path it is given, with mode 0o600:
    # the shipped weights came out unreadable to other users until the mode was set afterwards
    def replace_with_private_file(tmp):
        fd = os.open(tmp.with_suffix(".own"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"data")
        os.close(fd)
        os.replace(tmp.with_suffix(".own"), tmp)

    path = atomic_write(tmp_path / "w.safetensors", replace_with_private_file)
    assert path.read_bytes() == b"data"
    assert path.stat().st_mode & 0o777 == default_file_mode() != 0o600


def test_a_failure_mid_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write_text(path, "old\n")

    def half_then_fail(tmp):
        tmp.write_text("half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_the_writer_gets_a_temp_path_with_the_suffix_asked_for(tmp_path):
    seen = []

    def save(tmp):
        seen.append(tmp)
        np.save(tmp, np.arange(3))  # np.save appends .npy to any other name

    path = atomic_write(tmp_path / "x.npy", save, suffix=".tmp.npy")
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".x.npy.")
    assert seen[0].name.endswith(".tmp.npy") and not os.path.exists(seen[0])
    assert np.load(path).tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]
