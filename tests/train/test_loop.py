"""Training runs on real PBC images: every preset, a fixed-batch check that the supervised loss
falls, the run folder, bad input refused before training, and the NaN guard."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from hierwbc.config import PRESETS
from hierwbc.datasets import load_image, read_dataset, square_resize
from hierwbc.hierarchy import default_hierarchy
from hierwbc.models.checkpoints import CheckpointError, save_atomic
from hierwbc.models.vit import build_vit
from hierwbc.train.augment import AugmentConfig, global_crops
from hierwbc.train.checkpointing import list_checkpoints, load_checkpoint
from hierwbc.train.loop import NonFiniteLossError, build_optimizer, fit
from hierwbc.train.masking import collate_masks
from hierwbc.train.meta_arch import MetaArch
from hierwbc.train.prepare import TrainingDataError

from .helpers import TINY, tiny_config

SMALL = {**TINY, "model.img_size": 56, "data.limit": 64}


@pytest.mark.parametrize("preset", PRESETS)
def test_each_preset_trains_a_few_steps_on_real_pbc(preset, data_root, tmp_path):
    result = fit(None, preset=preset, max_steps=3, out=str(tmp_path / preset), progress=False,
                 **{**SMALL, "data.root": str(data_root)})
    m = result.metrics
    assert list(m["step"]) == [0, 1, 2]
    terms = ["dino", "ibot", "koleo", "loss"] + ([] if preset == "unsup" else ["sup"])
    assert np.isfinite(m[terms].to_numpy()).all()
    assert ("sup" in m) == (preset != "unsup")
    np.testing.assert_allclose(m["loss"], m[[t for t in terms if t != "loss"]].sum(axis=1), rtol=1e-5)
    assert ((m["dino_target_entropy"] > 0) & (m["dino_target_entropy"] <= 1 + 1e-6)).all()
    run = result.run_dir
    assert {"config.yaml", "hierarchy.json", "train_manifest.csv", "metrics.jsonl"} <= {p.name for p in run.iterdir()}
    state = load_checkpoint(result.checkpoint)
    assert state["step"] == 3 and state["config"]["supervised"]["loss"] == (None if preset == "unsup" else preset)
    manifest = pd.read_csv(run / "train_manifest.csv")
    assert len(manifest) == 64 and set(manifest["split"]) == {"train"}


def _fixed_pbc_batch(data_root, size=56):
    h = default_hierarchy()
    m = read_dataset("pbc", data_root, hierarchy=h)
    picks = m.groupby("node", sort=True).head(1).head(8)  # 8 classes, incl. internal-node labels
    images = torch.stack([torch.from_numpy(square_resize(load_image(p), size)).permute(2, 0, 1)
                          for p in picks["path"]])
    crops = torch.cat(global_crops(images, AugmentConfig(size=size), generator=0))
    return crops, torch.as_tensor(h.indices(picks["node"])), h


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "unsup"])
def test_supervised_loss_falls_on_a_fixed_batch(preset, data_root):
    torch.manual_seed(0)
    crops, targets, h = _fixed_pbc_batch(data_root)
    cfg = tiny_config(preset, **{"model.img_size": 56, "optim.base_lr": 0.05})
    model = MetaArch(cfg, h).train()
    opt = build_optimizer(model, cfg)
    for g in opt.param_groups:
        g["lr"], g["weight_decay"] = 1e-3 * g["lr_multiplier"], 0.0
    masks = collate_masks(16, 4, rng=0)
    sup = []
    for _ in range(20):  # contrastive terms first rise while the collapsed initial features spread
        terms = model.forward_losses(crops, masks, targets, teacher_temp=0.04)
        sup.append(terms["sup"].item())
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        model.update_teacher(0.99)
    assert all(math.isfinite(s) for s in sup)
    assert sup[-1] < 0.8 * sup[0], sup


def test_no_labelled_images_is_refused_before_training(data_root, tmp_path):
    with pytest.raises(TrainingDataError, match="needs labelled images"):
        fit(None, preset="hierce", max_steps=1, out=str(tmp_path / "r"), progress=False,
            **{**SMALL, "data.root": str(data_root), "data.unlabelled_fraction": 1.0})
    assert not (tmp_path / "r").exists()


def test_label_not_in_hierarchy_is_refused(tmp_path, data_root):
    m = read_dataset("segmentation_wbc", data_root).head(20).copy()
    m["node"] = ["neutrophil"] * 19 + ["no_such_cell"]
    csv = tmp_path / "m.csv"
    m.to_csv(csv, index=False)
    with pytest.raises(Exception, match="no_such_cell"):
        fit(None, preset="hierce", max_steps=1, out=str(tmp_path / "r"), progress=False,
            **{**SMALL, "data.sources": [str(csv)], "data.limit": None})


def test_checkpoint_of_another_architecture_is_refused(tmp_path, data_root):
    ckpt = tmp_path / "small.pth"
    save_atomic(build_vit("vit_small", img_size=56).state_dict(), ckpt)
    with pytest.raises(CheckpointError, match="blocks.0.attn.qkv.weight"):
        fit(None, preset="unsup", max_steps=1, out=str(tmp_path / "r"), progress=False,
            **{**SMALL, "data.root": str(data_root), "model.pretrained": str(ckpt)})
    assert not (tmp_path / "r").exists()


def test_nan_loss_stops_with_step_term_and_files(tmp_path, data_root, monkeypatch):
    from hierwbc.losses.hier_ce import HierCELoss

    original = HierCELoss.forward
    calls = {"n": 0}

    def poisoned(self, logits, targets):
        calls["n"] += 1
        loss = original(self, logits, targets)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(HierCELoss, "forward", poisoned)
    run = tmp_path / "r"
    with pytest.raises(NonFiniteLossError) as e:
        fit(None, preset="hierce", max_steps=5, out=str(run), progress=False, checkpoint_every=1,
            **{**SMALL, "data.root": str(data_root)})
    msg = str(e.value)
    assert "step 2" in msg and "'sup'" in msg and ".jpg" in msg and "step_000002.pt" in msg
    assert [p.name for p in list_checkpoints(run)] == ["step_000001.pt", "step_000002.pt"]
    assert load_checkpoint(run / "checkpoints" / "step_000002.pt")["step"] == 2
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [0, 1]
