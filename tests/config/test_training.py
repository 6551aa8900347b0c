"""Config: presets, YAML round trip, typed key=value overrides, clear errors for bad keys."""

import pytest

from hierwbc.config import PRESETS, ConfigError, from_dict, make_config


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_set_the_supervised_loss(preset):
    cfg = make_config(preset)
    assert cfg.preset == preset
    assert cfg.supervised.loss == (None if preset == "unsup" else preset)


def test_overrides_are_typed():
    cfg = make_config("hierce", overrides=["alpha=0.9", "lr=1e-3", "max_steps=10", "data.sources=pbc,bccd",
                                           "ibot.mask_ratio_min_max=[0.2, 0.4]", "model.pretrained=none",
                                           "compile=true"])
    assert cfg.supervised.alpha == 0.9 and cfg.optim.base_lr == 1e-3 and cfg.max_steps == 10
    assert cfg.data.sources == ["pbc", "bccd"] and cfg.ibot.mask_ratio_min_max == (0.2, 0.4)
    assert cfg.model.pretrained is None and cfg.compile is True


def test_yaml_file_and_round_trip(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("preset: supcon\nbatch_size: 8\nmodel:\n  arch: vit_tiny\n  img_size: 56\n")
    cfg = make_config(file=f, overrides={"seed": 3})
    assert (cfg.preset, cfg.batch_size, cfg.model.arch, cfg.seed) == ("supcon", 8, "vit_tiny", 3)
    assert from_dict(cfg.to_dict()) == cfg
    assert "arch: vit_tiny" in cfg.to_yaml()


@pytest.mark.parametrize("override, message", [
    ("optim.bas_lr=1", "did you mean 'optim.base_lr'"),
    ("batch_size=abc", "expected a number"),
    ("batch_size=2.5", "expected an integer"),
    ("compile=maybe", "expected true/false"),
    ("ibot.mask_ratio_min_max=[1,2,3]", "expected 2 values"),
    ("model.img_size=57", "not a multiple of patch_size"),
    ("fsdp=sometimes", "fsdp must be"),
    ("nokey", "not of the form key=value"),
    ("preset=fancy", "unknown preset 'fancy'"),
])
def test_bad_overrides_are_named(override, message):
    with pytest.raises(ConfigError, match=message):
        make_config("hierce", overrides=[override])


def test_apply_overrides_sets_in_order_and_validates():
    from hierwbc.config import apply_overrides

    cfg = make_config("hierce")
    assert apply_overrides(cfg, ["alpha=0.2", "preset=ce"]) is cfg
    assert (cfg.supervised.alpha, cfg.preset, cfg.supervised.loss) == (0.2, "ce", "ce")
    with pytest.raises(ConfigError):
        apply_overrides(cfg, {"batch_size": 1})


@pytest.mark.parametrize("override, message", [
    ("optim.base_lr=abc", r"^optim\.base_lr: expected a number, got 'abc'$"),
    ("data.limit=2.5", r"^data\.limit: expected an integer, got 2\.5$"),
    ("crops.jitter=0.1,0.2", r"^crops\.jitter: expected 4 values, got 2$"),
    ("batch_size=null", r"^batch_size: may not be null$"),
    ("model=5", r"^model: expected a mapping of keys, got 5$"),
    ("seed.x=1", r"unknown config key 'seed\.x' \('seed' is not a section\)"),
    ("optm.base_lr=1", r"unknown config key 'optm\.base_lr' .*did you mean 'optim'\?"),
    ("alpah=0.3", r"did you mean 'alpha'\?"),  # a short key is suggested too
])
def test_a_bad_override_names_its_key(override, message):
    with pytest.raises(ConfigError, match=message):
        make_config("hierce", overrides=[override])


def test_an_unknown_key_in_a_file_names_the_file_and_the_closest_key(tmp_path):
    f = tmp_path / "recipe.yaml"
    f.write_text("preset: hierce\nmodel:\n  archh: vit_tiny\n")
    with pytest.raises(ConfigError, match=rf"^{f}: unknown config key 'model\.archh' .*did you mean 'model\.arch'\?"):
        make_config(file=f)
    f.write_text("optim.base_lr: fast\n")
    with pytest.raises(ConfigError, match=rf"^{f}: optim\.base_lr: expected a number, got 'fast'$"):
        make_config(file=f)
    f.write_text("- a list\n")
    with pytest.raises(ConfigError, match=rf"^{f}: a config file must be a mapping"):
        make_config(file=f)


def test_override_text_is_read_by_the_field_type():
    cfg = make_config(overrides=["fsdp=off", "max_steps=1e4", "data.sources=pbc, lisc", "data.split=none",
                                 "data.lab_weights=pbc=10", "crops.blur_p=0.5,0.2", "knn_lab_shift=yes"])
    assert cfg.fsdp == "off"  # a string field keeps the text (YAML would read false)
    assert cfg.max_steps == 10000 and isinstance(cfg.max_steps, int)
    assert cfg.data.sources == ["pbc", "lisc"] and cfg.data.split is None
    assert cfg.data.lab_weights == ["pbc=10"] and cfg.crops.blur_p == (0.5, 0.2) and cfg.knn_lab_shift is True
    same = make_config(overrides={"fsdp": "off", "max_steps": 1e4, "data.sources": "pbc,lisc", "data.split": None,
                                  "data.lab_weights": "pbc=10", "crops.blur_p": [0.5, 0.2], "knn_lab_shift": True})
    assert same == cfg


def test_files_take_nested_sections_and_dotted_keys_in_order(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("model:\n  arch: vit_tiny\n  img_size: 28\nmodel.arch: vit_small\nmax_steps: 1e3\n")
    cfg = make_config(file=f)
    assert (cfg.model.arch, cfg.model.img_size, cfg.max_steps) == ("vit_small", 28, 1000)


@pytest.mark.parametrize("preset", PRESETS)
def test_from_dict_round_trips(preset, tmp_path):
    cfg = make_config(preset, overrides=["model.pretrained=hierwbc-tiny-pbc", "crops.jitter=[0.1,0.2,0.3,0.4]",
                                         "data.sources=[pbc,lisc]", "data.lab_weights=[pbc=3]"])
    assert from_dict(cfg.to_dict()) == cfg
    settled = make_config(preset)
    assert from_dict(settled.to_dict()) == settled and from_dict(settled.to_dict()).to_yaml() == settled.to_yaml()


def test_old_run_configs_load_with_their_values():
    """Every config.yaml of reports/pretraining/runs (written by older versions, some without
    later keys) loads, each of its values as written."""
    import glob
    from pathlib import Path

    import yaml

    def values(d, prefix=""):
        for k, v in d.items():
            yield from values(v, f"{prefix}{k}.") if isinstance(v, dict) else [(prefix + k, v)]

    files = sorted(glob.glob(str(Path(__file__).parents[2] / "reports" / "*" / "runs" / "*" / "config.yaml")))
    assert len(files) > 10
    for f in files:
        old = yaml.safe_load(Path(f).read_text())
        assert dict(values(old)).items() <= dict(values(from_dict(old).to_dict())).items(), f


def test_img_size_is_the_pretrained_files_unless_given():
    """model.img_size None means "the pretrained file's, else 224", settled in one place."""
    from hierwbc.config import TrainConfig
    from hierwbc.train.pretrained import adopt_pretrained_architecture as adopt

    pending = make_config("hierce", overrides={"model.pretrained": "hierwbc-tiny-pbc"})
    assert pending.model.img_size is None and pending.to_dict()["model"]["img_size"] is None
    assert adopt(pending).model.img_size == 56 and pending.model.img_size is None  # a copy is settled
    given = make_config("hierce", overrides={"model.pretrained": "hierwbc-tiny-pbc", "model.img_size": 112})
    assert adopt(given).model.img_size == 112
    assert make_config("hierce").model.img_size == 224  # no file: the default, settled at once
    assert adopt(TrainConfig()).model.img_size == 224  # a config built by hand
    # a run's config (settled) keeps its size when read back, as an old checkpoint's does
    assert adopt(from_dict(adopt(pending).to_dict())).model.img_size == 56
    assert adopt(from_dict(given.to_dict())).model.img_size == 112
