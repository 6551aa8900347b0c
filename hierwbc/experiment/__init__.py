"""Experiments: a grid of training runs, their embeddings, evaluation, tables and figures,
described by one YAML file (``experiments/*.yaml``) and rebuilt by ``hierwbc experiment``.

The public names load on first use, so :mod:`.layout` (the run folder's paths, needed by the
notebook runner and the workflow) is imported without torch."""

from importlib import import_module

_HOMES = {"ExperimentConfig": "..config.experiment", "load_experiment": "..config.experiment", "publish": ".publishing",
          "training_table": ".publishing", "STAGES": ".runner", "run_experiment": ".runner"}

__all__ = ["STAGES", "ExperimentConfig", "load_experiment", "publish", "run_experiment", "training_table"]  # = _HOMES


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name], __name__), name)
    globals()[name] = value  # bound once
    return value
