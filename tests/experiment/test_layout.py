"""One layout for the experiment folder and the notebooks' run folder."""

from hierwbc.experiment.layout import DONE_FILE, RunLayout
from hierwbc.workflow.folder import RunFolder


def test_the_run_folder_is_the_experiment_layout(tmp_path):
    run, layout = RunFolder(tmp_path / "run"), RunLayout(tmp_path / "run")
    assert run.root.is_dir() and not layout.models.exists()
    for name in ("hierarchy_json", "manifests", "experiment_file", "summary_file", "models",
                 "embeddings_dir", "evaluation_dir", "tables", "figures"):
        assert getattr(run, name) == getattr(layout, name)
    assert layout.done_file("hierce") == tmp_path / "run" / "models" / "hierce" / DONE_FILE
    assert layout.embedding_file("hierce", "pbc_test") == layout.embeddings_dir / "hierce" / "pbc_test.h5ad"


def test_several_seeds_go_one_level_down(tmp_path):
    one, many = RunLayout(tmp_path), RunLayout(tmp_path, multi_seed=True)
    assert one.model_dir("hierce", 1) == one.model_dir("hierce") == tmp_path / "models" / "hierce"
    assert many.model_dir("hierce", 1) == tmp_path / "models" / "hierce" / "seed1"
    assert many.embedding_file("hierce", "bccd", 2) == tmp_path / "embeddings" / "hierce" / "seed2" / "bccd.h5ad"
    assert many.embedding_file("pixels", "bccd") == tmp_path / "embeddings" / "pixels" / "bccd.h5ad"
    for d in (one.model_dir("a"), many.model_dir("b", 0)):
        d.mkdir(parents=True)
        (d / DONE_FILE).write_text("{}")
    assert many.finished_runs() == [one.model_dir("a"), many.model_dir("b", 0)]
