"""Configuration: the training recipe (:mod:`.training`, :class:`TrainConfig`: presets, YAML files,
``key=value`` overrides) and the experiment grid built on it (:mod:`.experiment`,
:class:`ExperimentConfig`: models x seeds, baselines, evaluation sets, figures), both typed
dataclasses on one machinery (:mod:`.schema`: OmegaConf structured configs, errors that name the
key and the file, "did you mean" for unknown keys).

Recipes live in ``configs/``, grids in ``experiments/``. Both the trainer and the inference side
(reading a run's checkpoint back) read configurations from here; nothing here imports
:mod:`hierwbc.train`.
"""

from .experiment import BASELINES, EvalSet, ExperimentConfig, load_experiment
from .training import (
    PRESETS,
    SUPERVISED_PRESETS,
    ConfigError,
    DataConfig,
    ModelConfig,
    SupervisedConfig,
    TrainConfig,
    apply_overrides,
    from_dict,
    make_config,
    parse_lab_weights,
    settle_img_size,
)

__all__ = ["BASELINES", "PRESETS", "SUPERVISED_PRESETS", "ConfigError", "DataConfig", "EvalSet", "ExperimentConfig",
           "ModelConfig", "SupervisedConfig", "TrainConfig", "apply_overrides", "from_dict", "load_experiment",
           "make_config", "parse_lab_weights", "settle_img_size"]
