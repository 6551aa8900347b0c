"""One spelling in the public API (American, as numpy, scikit-learn and scanpy), the British names
of before kept one release as deprecated aliases that warn and do what the new names do."""

import ast
import importlib
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BRITISH = re.compile(r"^(colour\w*|normalis\w*|standardis\w*|centre\w*|recentre\w*|labell(ed|ing)|unlabelled|"
                     r"neighbour\w*|initialis\w*|summaris\w*|visualis\w*|organis\w*)$")


def words(name: str) -> list[str]:
    """``SoftLabelLoss`` -> soft, label, loss; ``colour_domain`` -> colour, domain."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().split("_")


def british_public_names(text: str) -> list[str]:
    """Public function / class names and their parameters spelt the British way."""
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            names = [node.name]
            if isinstance(node, ast.FunctionDef):
                names += [a.arg for a in node.args.args + node.args.kwonlyargs]
            out += [n for n in names if any(BRITISH.match(w) for w in words(n))]
    return out


def test_the_check_sees_british_names():
    assert british_public_names("def colour_stats(x, labelled): pass\ndef _standardise(x): pass") == [
        "colour_stats", "labelled"]


def test_the_public_api_has_one_spelling():
    found = {str(p.relative_to(ROOT)): names for pkg in ("hierwbc", "hierarchy_editor")
             for p in (ROOT / pkg).rglob("*.py") if (names := british_public_names(p.read_text()))}
    assert not found


@pytest.mark.parametrize("module, old, new", [
    ("hierwbc.datasets.stain", "colour_features", "color_features"),
    ("hierwbc.datasets.stain", "stain_normaliser", "stain_normalizer"),
    ("hierwbc.datasets.color_domain", "ColourDomain", "ColorDomain"),
    ("hierwbc.evaluate.probes", "standardise", "standardize"),
    ("hierwbc.hierarchy", "normalise_label", "normalize_label"),
    ("hierwbc.predict", "recentred", "recentered"),
    ("hierarchy_editor", "node_colours", "node_colors"),
])
def test_old_names_warn_and_are_the_new_ones(module, old, new):
    m = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=f"use {module}.{new}"):
        alias = getattr(m, old)
    assert alias is getattr(m, new)
    with pytest.raises(AttributeError):
        m.no_such_name  # noqa: B018


def test_old_module_and_keyword_names():
    import hierwbc.plotting as hp
    from hierwbc.config.experiment import alpha_from_name
    from hierwbc.deprecation import renamed_keywords

    with pytest.warns(DeprecationWarning, match="use hierwbc.config.experiment.alpha_from_name"):
        moved = hp.alpha_from_name  # a model name's alpha is the config's concern now
    assert moved is alpha_from_name

    old = importlib.import_module("hierwbc.datasets.colour_domain")
    with pytest.warns(DeprecationWarning, match="hierwbc.datasets.color_domain"):
        importlib.reload(old)

    @renamed_keywords(colour="color")
    def paint(x, color=None):
        return x, color

    with pytest.warns(DeprecationWarning, match=r"paint\(colour=...\) is deprecated .* use color="):
        assert paint(1, colour="red") == (1, "red")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert paint(1, color="red") == (1, "red")  # the new name: no warning
    with pytest.raises(TypeError, match="both colour= and color="):
        paint(1, colour="a", color="b")


def test_predict_takes_its_old_keywords(tmp_path):
    from hierwbc.predict import predict

    with pytest.warns(DeprecationWarning, match="recentre"), pytest.raises(ValueError):
        predict(tmp_path, recentre=True, threshold=np.nan)  # the rename happens before the call
