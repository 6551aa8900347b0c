"""`hierwbc demo --summary-only` prints the tree and per-dataset counts (real or synthetic)."""


from hierwbc.cli import main


def test_demo_summary_on_real_data(data_root, capsys, tmp_path):
    assert main(["demo", "--summary-only", "--data", str(data_root), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "├── granulopoiesis" in out
    assert "pbc: 17,092 images" in out and "segmentation_wbc: 300 images" in out
    assert "NEUTROPHIL               -> neutrophil                        50" in out


def test_demo_summary_without_data_draws_synthetic_cells(capsys, tmp_path, monkeypatch):
    empty = tmp_path / "nodata"
    empty.mkdir()
    monkeypatch.setenv("HIERWBC_DATA", str(empty))
    assert main(["demo", "--summary-only", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "synthetic:" in out
    assert len(list((tmp_path / "run" / "synthetic").rglob("*.png"))) == 30 * 8
