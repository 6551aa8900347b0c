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
