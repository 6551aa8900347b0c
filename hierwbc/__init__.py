"""hierwbc: hierarchical supervision in DINOv2 training for white-blood-cell images.

The flow: hierarchy (the tree) -> datasets (manifests) -> train (DINOv2 + a supervised term)
-> embed (AnnData) -> evaluate (tables) -> plotting (figures); notebooks/ drive all of it.
Inference stands without the trainer: models (``create_model``, the shipped weights), embed,
predict, adapt; every command lives in hierwbc/cli/, every configuration in hierwbc/config/.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """A submodule on first use, so ``import hierwbc; hierwbc.predict(folder)`` works while
    ``import hierwbc`` itself stays light (no torch)."""
    import importlib

    if name.startswith("_"):  # __wrapped__, __file__ lookups by tools: never a submodule
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
