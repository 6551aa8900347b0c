"""A user's own folder as an evaluation set: one line in the experiment file, with a label map of
the hierarchy (``folder:raabin``) or the set's own ``label_map``."""

import numpy as np
from PIL import Image

from hierwbc.experiment import load_experiment
from hierwbc.experiment.runner import eval_manifests
from hierwbc.hierarchy import default_hierarchy


def _folder(root, classes, per_class=3):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(root / c / f"{c}_{i}.png")
    return root


def test_a_folder_with_a_label_map_is_an_evaluation_set(tmp_path):
    lab = _folder(tmp_path / "my_lab", ["Neutrophil", "Monocyte", "Basophil"])
    own = _folder(tmp_path / "own", ["neu", "mono"], per_class=2)
    exp = tmp_path / "e.yaml"
    exp.write_text(f"""name: e
models: {{a: {{preset: unsup}}}}
evaluation:
  sets:
    - {{name: my_lab, source: "{lab}:raabin"}}
    - {{name: own, source: "{own}", label_map: {{neu: neutrophil, mono: monocyte}}}}
""")
    cfg = load_experiment(exp)
    m = eval_manifests(cfg, default_hierarchy())
    assert len(m["my_lab"]) == 9 and len(m["own"]) == 4
    assert set(m["my_lab"]["node"]) == {"neutrophil", "monocyte", "basophil"}
    assert sorted(m["own"]["node"]) == ["monocyte", "monocyte", "neutrophil", "neutrophil"]
    assert m["my_lab"]["path"].map(lambda p: p.startswith(str(lab))).all()


def test_the_data_settings_are_read_with_the_model_size_they_are_checked_against(tmp_path):
    # a crop cache of 128 px is valid for a 56 px model (not for the default 224 px one)
    own = _folder(tmp_path / "own", ["neu", "mono"], per_class=2)
    exp = tmp_path / "e.yaml"
    exp.write_text(f"""name: e
train:
  model.img_size: 56
  data.cache_size: 128
models: {{a: {{preset: unsup}}}}
evaluation:
  sets:
    - {{name: own, source: "{own}", label_map: {{neu: neutrophil, mono: monocyte}}}}
""")
    assert len(eval_manifests(load_experiment(exp), default_hierarchy())["own"]) == 4
