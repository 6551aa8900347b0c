"""Command-line errors: a mistake in the input is one line, ``hierwbc: error: <message>``, on
stderr with exit status 2 and no traceback; ``--debug`` or ``HIERWBC_DEBUG=1`` shows the
traceback; other exceptions (bugs) always propagate."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hierwbc import cli
from hierwbc.cli import DEBUG_ENV, USER_ERRORS, main
from hierwbc.config import ConfigError
from hierwbc.hierarchy import Hierarchy, HierarchyError, default_hierarchy

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_debug_env(monkeypatch):
    monkeypatch.delenv(DEBUG_ENV, raising=False)


def run_cli(*args, env=None):
    """``python -m hierwbc.cli ARGS`` in a fresh process: the real exit status and streams."""
    environ = {k: v for k, v in os.environ.items() if k != DEBUG_ENV}
    return subprocess.run([sys.executable, "-m", "hierwbc.cli", *args], capture_output=True, text=True, check=False,
                          cwd=REPO, env={**environ, **(env or {})}, timeout=300)


def misspelt_tree(tmp_path) -> Path:
    """The default tree as JSON with pbc's 'LY' mapped to 'lymphocyte_typicl'."""
    d = default_hierarchy().to_dict()
    d["label_maps"]["pbc"]["LY"] = "lymphocyte_typicl"
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(d))
    return path


def assert_user_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("hierwbc: error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


# ---------------------------------------------------------------- a real process


def test_missing_tree_file_is_one_line_with_status_2(tmp_path):
    assert_user_error(run_cli("hierarchy", str(tmp_path / "nope.json")), "nope.json: no such hierarchy file")


def test_misspelt_node_suggests_the_closest(tmp_path):
    result = run_cli("hierarchy", str(misspelt_tree(tmp_path)))
    assert_user_error(result, "pbc: 'LY' -> 'lymphocyte_typicl'", "did you mean lymphocyte_typical?")
    assert result.stdout == ""


@pytest.mark.parametrize("how", [("--debug", "hierarchy"), ("hierarchy", "--debug"), DEBUG_ENV])
def test_debug_shows_the_traceback(tmp_path, how):
    tree = str(misspelt_tree(tmp_path))
    if how == DEBUG_ENV:
        result = run_cli("hierarchy", tree, env={DEBUG_ENV: "1"})
    else:
        result = run_cli(*how, tree)
    assert result.returncode not in (0, 2)
    assert "Traceback (most recent call last)" in result.stderr
    assert ("hierwbc.hierarchy.errors.HierarchyError" in result.stderr
            and "did you mean lymphocyte_typical?" in result.stderr)


def test_debug_env_zero_means_off(tmp_path):
    assert_user_error(run_cli("hierarchy", str(tmp_path / "nope.json"), env={DEBUG_ENV: "0"}))


def test_help_imports_no_heavy_module():
    code = ("import sys\nfrom hierwbc.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit as e:\n"
            "    assert e.code == 0\nprint(sorted(m for m in ('torch', 'anndata', 'hierwbc.embed',"
            " 'hierwbc.config', 'hierwbc.models.checkpoints', 'hierwbc.evaluate') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
    commands = "{demo,hierarchy,models,train,baseline,embed,evaluate,predict,adapt,finetune,export,experiment,slurm}"
    assert commands in out.stdout and "--debug" in out.stdout


# ---------------------------------------------------------------- in process (main)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Class-folder layouts: ``good`` (one monocyte), ``misspelt`` (a folder lymphocyte_typicl),
    ``empty`` (a class folder without images), and a file that is not a checkpoint."""
    base = tmp_path_factory.mktemp("cli")
    for sub in ("good/monocyte", "misspelt/lymphocyte_typicl", "empty/monocyte"):
        (base / sub).mkdir(parents=True)
    for sub in ("good/monocyte", "misspelt/lymphocyte_typicl"):
        Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(base / sub / "cell.png")
    (base / "garbage.pt").write_text("not a checkpoint\n")
    return base


CASES = {
    "unknown preset": (["train", "--preset", "hiercee"], ["unknown preset 'hiercee'"]),
    "unknown config key": (["train", "optim.base_lrr=1"], ["unknown config key 'optim.base_lrr'",
                                                           "did you mean 'optim.base_lr'?"]),
    "unknown data source": (["train", "--data", "pbcc", "--out", "{tmp}/run"], ["data source 'pbcc'",
                                                                                "did you mean pbc?"]),
    "no images": (["train", "--preset", "hierce", "--data", "{base}/empty", "--out", "{tmp}/run"],
                  ["no rows in split 'train'"]),
    "missing checkpoint": (["embed", "--checkpoint", "{tmp}/missing.pt", "--data", "{base}/good", "--out",
                            "{tmp}/x.h5ad"], ["missing.pt' is neither a checkpoint file"]),
    "not a checkpoint": (["embed", "--checkpoint", "{base}/garbage.pt", "--data", "{base}/good", "--out",
                          "{tmp}/x.h5ad"], ["garbage.pt: refused by torch.load"]),
    "misspelt class folder": (["embed", "--checkpoint", "{tmp}/missing.pt", "--data", "{base}/misspelt", "--out",
                               "{tmp}/x.h5ad"], ["'lymphocyte_typicl' (1) (did you mean lymphocyte_typical?)"]),
    "missing experiment file": (["experiment", "--config", "{tmp}/nope.yaml"],
                                ["nope.yaml: No such file or directory"]),
    "experiment file not YAML": (["experiment", "--config", "{tmp}/bad.yaml"], ["bad.yaml"]),
    "embed: no images": (["embed", "--checkpoint", "vit_tiny", "--data", "{base}/empty", "--out", "{tmp}/x.h5ad"],
                         ["no images found in {base}/empty"]),
    "predict: no images": (["predict", "{base}/empty", "--out", "{tmp}/x.csv"], ["empty: no images found"]),
    "predict: misspelt model": (["predict", "{base}/good", "--model", "hierwbc-tiny-pcb", "--out", "{tmp}/x.csv"],
                                ["did you mean 'hierwbc-tiny-pbc'?"]),
    "predict: reference not h5ad": (["predict", "{base}/good", "--model", "vit_tiny", "--reference",
                                     "{base}/garbage.pt", "--out", "{tmp}/x.csv"], ["not a readable .h5ad file"]),
    "predict: unlabelled reference": (["predict", "{base}/good", "--model", "vit_tiny", "--reference",
                                       "{tmp}/unlabelled.h5ad", "--out", "{tmp}/x.csv"],
                                      ["none of its 2 cells has a label"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_user_errors_in_process(case, folders, tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("train: [unclosed\n")
    ad.AnnData(obs=pd.DataFrame({"node": ["", ""]}, index=["0", "1"]),
               obsm={"X_cls": np.zeros((2, 3), np.float32)}).write_h5ad(tmp_path / "unlabelled.h5ad")
    argv, fragments = CASES[case]
    argv = [a.format(tmp=tmp_path, base=folders) for a in argv]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2, err
    assert err.startswith("hierwbc: error: ") and err.endswith("\n") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment.format(tmp=tmp_path, base=folders) in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "x.h5ad").exists()
    assert not (tmp_path / "x.csv").exists()


def test_debug_in_process_raises_the_error(monkeypatch):
    with pytest.raises(ConfigError, match="unknown preset"):
        main(["--debug", "train", "--preset", "hiercee"])
    with pytest.raises(ConfigError, match="unknown preset"):
        main(["train", "--preset", "hiercee", "--debug"])
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(ConfigError, match="unknown preset"):
        main(["train", "--preset", "hiercee"])


def test_a_bug_is_not_a_user_error(monkeypatch):
    def broken(path):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Hierarchy, "read", staticmethod(broken))
    with pytest.raises(RuntimeError, match="a bug"):
        main(["hierarchy", "x.json"])


def test_malformed_option_is_argparses_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["experiment", "--config", "x.yaml", "--set", "max_steps"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "argument --set: 'max_steps' is not of the form SECTION.KEY=VALUE" in err
    with pytest.raises(SystemExit) as e:
        main(["predict", "cells/", "--threshold", "1.5", "--out", "x.csv"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "argument --threshold: 1.5 is not a probability between 0 and 1" in err


@pytest.mark.parametrize("argv, resume, max_steps", [
    (["--resume", "max_steps=7"], True, 7),                       # an override after --resume
    (["max_steps=7", "--resume"], True, 7),
    (["--resume", "run/checkpoints/step_000005.pt"], "run/checkpoints/step_000005.pt", None),
    ([], False, None),
])
def test_train_resume_does_not_swallow_an_override(monkeypatch, argv, resume, max_steps):
    from hierwbc.train import loop

    seen = {}

    def fake_fit(cfg, resume, progress):
        seen.update(cfg=cfg, resume=resume)
        return type("Result", (), {"run_dir": "r", "checkpoint": "c"})()

    monkeypatch.setattr(loop, "fit", fake_fit)
    main(["train", "--preset", "unsup", "--out", "run", "--no-progress", *argv])
    assert seen["resume"] == resume
    if max_steps is not None:
        assert seen["cfg"].max_steps == max_steps


def test_lazy_subcommand_options(capsys):
    with pytest.raises(SystemExit) as e:
        main(["embed", "--help"])
    assert e.value.code == 0 and "--checkpoint" in capsys.readouterr().out
    args = cli.build_parser().parse_args(["evaluate", "a=x.h5ad", "--out", "o", "--n-boot", "3"])
    assert args.n_boot == 3 and args.inputs == ["a=x.h5ad"] and args.debug is False


def test_user_errors_name_exception_classes():
    for module, name in USER_ERRORS:
        cls = getattr(importlib.import_module(module), name)
        assert isinstance(cls, type) and issubclass(cls, Exception), (module, name)
    assert issubclass(HierarchyError, cli.user_errors())  # loaded here, so recognised
    assert RuntimeError not in cli.user_errors() and not issubclass(KeyError, cli.user_errors())


def test_error_message():
    assert cli.error_message(FileNotFoundError(2, "No such file or directory", "a.yaml")) == \
        "a.yaml: No such file or directory"
    assert cli.error_message(FileNotFoundError("model 'x' is neither ...")) == "model 'x' is neither ..."
    assert cli.error_message(HierarchyError("")) == "HierarchyError"


def test_export_writes_a_weights_file_and_refuses_a_missing_head(tmp_path, data_root):
    from hierwbc.cli import main
    from hierwbc.models.shipped import read_weights
    from hierwbc.train.loop import fit

    from .train.helpers import TINY

    res = fit(None, preset="unsup", max_steps=1, out=str(tmp_path / "run"), progress=False,
              **{**TINY, "data.limit": 16, "data.root": str(data_root)})
    out = tmp_path / "w.safetensors"
    assert main(["export", str(res.checkpoint), "--out", str(out)]) == 0
    assert read_weights(out)[1]["arch"] == "vit_tiny"
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(res.checkpoint), "--out", str(tmp_path / "c.safetensors"), "--head"])
    assert exit_info.value.code == 2
