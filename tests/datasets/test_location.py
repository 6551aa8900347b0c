"""data_root: argument, else HIERWBC_DATA, else ../shared/data; bad explicit locations are errors."""

import pytest

from hierwbc.datasets import DataNotFoundError, data_root, location


def test_argument_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("HIERWBC_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path) == tmp_path


def test_missing_argument_is_an_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="nope"):
        data_root(tmp_path / "nope")
    assert data_root(tmp_path / "nope", required=False) is None


def test_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("HIERWBC_DATA", str(tmp_path))
    assert data_root() == tmp_path
    monkeypatch.setenv("HIERWBC_DATA", str(tmp_path / "missing"))
    with pytest.raises(DataNotFoundError, match="HIERWBC_DATA"):
        data_root()


def test_default_relative_to_repo_or_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("HIERWBC_DATA", raising=False)
    monkeypatch.setattr(location, "REPO", tmp_path / "elsewhere" / "repo")
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert data_root() == tmp_path / "shared" / "data"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataNotFoundError, match="tried"):
        data_root()
    assert data_root(required=False) is None
