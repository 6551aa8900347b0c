"""read_dataset dispatch and available_datasets."""

import pytest

from hierwbc.datasets import DataNotFoundError, available_datasets, read_dataset


def test_unknown_reader():
    with pytest.raises(ValueError, match="no reader 'pbcc'.*'bccd'"):
        read_dataset("pbcc")


def test_missing_dataset_names_where_it_looked(tmp_path):
    with pytest.raises(DataNotFoundError, match="dataset 'bccd' not found") as e:
        read_dataset("bccd", tmp_path)
    assert str(tmp_path / "bccd") in str(e.value)


def test_available_datasets_empty_folder(tmp_path):
    assert available_datasets(tmp_path) == {}


@pytest.mark.realdata
def test_available_datasets_real(data_root):
    found = available_datasets(data_root)
    assert found == {"pbc": data_root / "pbc" / "PBC_dataset_normal_DIB", "bccd": data_root / "bccd",
                     "segmentation_wbc": data_root / "segmentation_wbc", "lisc": data_root / "lisc",
                     "raabin": data_root / "raabin", "aslan": data_root / "aslan"}


def test_real_or_synthetic_falls_back_only_without_real_data(tmp_path):
    from hierwbc.datasets import SYNTHETIC, real_or_synthetic
    from hierwbc.hierarchy import default_hierarchy

    h = default_hierarchy()
    empty = tmp_path / "empty"
    empty.mkdir()
    toy = real_or_synthetic(empty, h, tmp_path / "toy", n_per_leaf=1, size=16, progress=False)
    assert list(toy) == [SYNTHETIC] and len(toy[SYNTHETIC]) == len(h.leaves)
    assert (tmp_path / "toy" / "manifest.csv").exists()
    with pytest.raises(DataNotFoundError):
        real_or_synthetic(tmp_path / "missing", h, tmp_path / "toy2", required=True)
