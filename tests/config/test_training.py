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
