"""embed(): model kinds, AnnData contents recomputed independently, atomic .h5ad round trip."""
import hashlib

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch

from hierwbc.config import make_config
from hierwbc.datasets import load_image, square_resize
from hierwbc.datasets.model_input import normalize
from hierwbc.datasets.synthetic import make_synthetic
from hierwbc.embed import embed, join_sets, write_h5ad
from hierwbc.hierarchy import Hierarchy, default_hierarchy
from hierwbc.models.supervised_heads import head_of_hidden_dim
from hierwbc.models.vit import build_vit

H = default_hierarchy()
LEAVES = ["myelocyte", "monocyte", "lymphocyte_typical", "eosinophil"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    m = make_synthetic(tmp_path_factory.mktemp("syn"), H, n_per_leaf=3, size=40, leaves=LEAVES,
                       coarse_fraction=0.25, progress=False)
    m.index = [f"img{i}" for i in range(len(m))]
    return m


def _reference_cls(model, paths, size):
    x = np.stack([square_resize(load_image(p), size) for p in paths])
    x = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        return model.forward_features(normalize(x))["x_norm_clstoken"].numpy()


def test_module_embedding_and_anndata_contents(manifest, tmp_path):
    torch.manual_seed(0)
    model = build_vit("vit_tiny", img_size=28, patch_size=14).eval()
    a = embed(model, manifest, batch_size=5, patch_mean=True, progress=False, name="tiny")
    np.testing.assert_allclose(a.obsm["X_cls"], _reference_cls(model, manifest.path, 28), atol=1e-5)
    assert a.obsm["X_patch_mean"].shape == (len(manifest), 192) and "node_proba" not in a.obsm
    assert list(a.obs_names) == list(manifest.index)
    assert a.obs["node"].dtype == "category" and a.obs["path"].tolist() == manifest["path"].tolist()
    assert a.obs["lineage"].astype(str).tolist() == [H.lineage_of(n) for n in manifest["node"]]
    assert Hierarchy.from_json(a.uns["hierarchy"]["json"]) == H
    assert a.uns["hierarchy"]["newick"] == H.to_newick()
    prov = a.uns["provenance"]
    assert prov["model"] == "tiny" and prov["source"] == "module" and prov["img_size"] == 28
    path = write_h5ad(a, tmp_path / "out" / "a.h5ad")
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.h5ad"]  # no temp file left
    b = ad.read_h5ad(path)
    np.testing.assert_array_equal(b.obsm["X_cls"], a.obsm["X_cls"])
    assert b.obs["node"].tolist() == a.obs["node"].tolist() and b.uns["provenance"]["model"] == "tiny"


def test_backbone_checkpoint_and_random_init(manifest, tmp_path):
    torch.manual_seed(1)
    model = build_vit("vit_tiny", img_size=28, patch_size=14).eval()
    ckpt = tmp_path / "backbone.pth"
    torch.save(model.state_dict(), ckpt)
    a = embed(str(ckpt), manifest, progress=False)
    np.testing.assert_allclose(a.obsm["X_cls"], _reference_cls(model, manifest.path, 28), atol=1e-5)
    prov = a.uns["provenance"]
    assert prov["sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest() and prov["source"] == "checkpoint"
    r1 = embed("vit_tiny", manifest, img_size=28, patch_size=14, seed=3, progress=False)
    r2 = embed("vit_tiny", manifest, img_size=28, patch_size=14, seed=3, progress=False)
    r3 = embed("vit_tiny", manifest, img_size=28, patch_size=14, seed=4, progress=False)
    np.testing.assert_array_equal(r1.obsm["X_cls"], r2.obsm["X_cls"])
    assert not np.allclose(r1.obsm["X_cls"], r3.obsm["X_cls"])
    assert r1.uns["provenance"]["model"] == "vit_tiny_random_init"
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        embed("no_such_model", manifest, progress=False)


def test_training_checkpoint_with_head_gives_node_probabilities(manifest, tmp_path):
    cfg = make_config("hierce", overrides=["model.arch=vit_tiny", "model.img_size=28", "model.patch_size=14"])
    torch.manual_seed(2)
    backbone = build_vit("vit_tiny", img_size=28, patch_size=14).eval()
    s = cfg.supervised
    head = head_of_hidden_dim(s.loss, H, 192, s.head_hidden_dim).eval()
    state = {f"teacher.backbone.{k}": v for k, v in backbone.state_dict().items()}
    state.update({f"student.sup_head.{k}": v for k, v in head.state_dict().items()})
    ckpt = tmp_path / "step_000010.pt"
    torch.save({"format": "hierwbc.train", "version": 1, "step": 10, "model": state, "config": cfg.to_dict(),
                "hierarchy": H.to_json()}, ckpt)
    a = embed(str(ckpt), manifest, progress=False)
    cls = _reference_cls(backbone, manifest.path, 28)
    np.testing.assert_allclose(a.obsm["X_cls"], cls, atol=1e-5)
    with torch.no_grad():
        ref = head.node_probs(head(torch.from_numpy(cls))).numpy()
    np.testing.assert_allclose(a.obsm["node_proba"], ref, atol=1e-5)
    np.testing.assert_allclose(a.obsm["node_proba"][:, 0], 1, atol=1e-5)  # the root
    assert a.uns["provenance"]["config"] and a.uns["provenance"]["img_size"] == 28
    other = H.copy()
    other.rename_node("monocyte", "monocyte_classical")
    with pytest.raises(ValueError, match="differs from the hierarchy given"):
        embed(str(ckpt), manifest.assign(node=manifest["node"].replace("monocyte", "monocyte_classical")),
              hierarchy=other, progress=False)


def test_pixel_baseline(manifest):
    a = embed("pixels", manifest, pixel_size=6, progress=False)
    first = square_resize(load_image(manifest.path.iloc[0]), 6).transpose(2, 0, 1).reshape(-1) / 255
    np.testing.assert_allclose(a.obsm["X_cls"][0], first, atol=1e-6)
    assert a.obsm["X_cls"].shape == (len(manifest), 3 * 36) and a.uns["provenance"]["source"] == "pixels"


def test_bad_manifest_raises(manifest):
    bad = manifest.copy()
    bad.loc[bad.index[0], "node"] = "not_a_node"
    with pytest.raises(Exception, match="not_a_node"):
        embed("pixels", bad, progress=False)
    dup = manifest.iloc[:3].copy()
    dup.index = ["a", "a", "b"]
    with pytest.raises(ValueError, match="unique"):
        embed("pixels", dup, progress=False)


def test_embed_and_evaluate_commands_exit_0(manifest, tmp_path):
    """`hierwbc embed` then `hierwbc evaluate` from the command line: exit status 0 (the
    commands return the path they wrote, which is not an exit status), files written."""
    from hierwbc.cli import main
    from hierwbc.datasets import write_manifest

    csv = tmp_path / "m.csv"
    write_manifest(manifest, csv)
    out = tmp_path / "pixels.h5ad"
    assert main(["embed", "--checkpoint", "pixels", "--data", str(csv), "--img-size", "8", "--out", str(out),
                 "--no-progress"]) == 0
    a = ad.read_h5ad(out)
    assert a.n_obs == len(manifest) and a.obsm["X_cls"].shape[1] == 3 * 8 * 8
    assert main(["evaluate", f"pixels={out}", "--out", str(tmp_path / "ev"), "--cv", "2", "--n-boot", "10",
                 "--probes", "1nn", "--no-progress"]) == 0
    assert (tmp_path / "ev" / "metrics.csv").exists()


def test_join_sets_names_cells_by_set_and_keeps_common_columns(tmp_path):
    a = ad.AnnData(obs=pd.DataFrame({"node": ["x", "y"], "only_a": [1, 2]}, index=["0", "1"]))
    a.obsm["X_cls"] = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    b = ad.AnnData(obs=pd.DataFrame({"node": ["z"], "dataset": ["stale"]}, index=["0"]))
    b.obsm["X_cls"] = np.array([[2.0, 2.0]], np.float32)
    a.write_h5ad(tmp_path / "a.h5ad")
    b.write_h5ad(tmp_path / "b.h5ad")
    joined = join_sets({"test_b": tmp_path / "b.h5ad", "test_a": tmp_path / "a.h5ad"})
    assert list(joined.obs_names) == ["0-test_b", "0-test_a", "1-test_a"]
    assert list(joined.obs["dataset"]) == ["test_b", "test_a", "test_a"]  # the set name, not the file's
    assert list(joined.obs["dataset"].cat.categories) == ["test_b", "test_a"]
    assert set(joined.obs.columns) == {"node", "dataset"}
    np.testing.assert_array_equal(joined.obsm["X_cls"], [[2, 2], [1, 0], [0, 1]])
