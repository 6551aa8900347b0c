"""Small configs shared by the training tests (vit_tiny, tiny heads, CPU)."""

from hierwbc.config import make_config

TINY = {"model.arch": "vit_tiny", "model.img_size": 28, "model.patch_size": 14, "model.drop_path_rate": 0.0,
        "dino.head_n_prototypes": 64, "dino.head_hidden_dim": 64, "dino.head_bottleneck_dim": 32,
        "ibot.head_n_prototypes": 64, "ibot.head_hidden_dim": 64, "ibot.head_bottleneck_dim": 32,
        "data.num_workers": 0, "batch_size": 8, "device": "cpu", "precision": "fp32"}


def tiny_config(preset="hierce", **overrides):
    return make_config(preset, overrides={**TINY, **overrides})
