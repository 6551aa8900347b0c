"""The shipped models' card (``hierwbc/weights/README.md``) read back: the one-line list of
``hierwbc models`` and each model's own section (``hierwbc models NAME``), as CellTypist's
``models_description``.

The card opens with a table ``| short name | what | use it for |`` (one row per shipped file)
and has one top-level section per model, headed ``# <short name>: <title>``.
"""

from __future__ import annotations

import difflib
import re

import pandas as pd

from .shipped import WEIGHTS_DIR, shipped_weights

CARD = WEIGHTS_DIR / "README.md"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|(.*)\|\s*$")


def list_models() -> pd.DataFrame:
    """One row per shipped weights file (index ``name``): ``what`` and ``use`` from the card's
    table ("" for a file the table does not list), in the order of the folder."""
    rows = {m.group(1): (m.group(2).strip(), m.group(3).strip())
            for m in map(_ROW.match, CARD.read_text().splitlines()) if m}
    names = list(shipped_weights())
    return pd.DataFrame({"what": [rows.get(n, ("", ""))[0] for n in names],
                         "use": [rows.get(n, ("", ""))[1] for n in names]}, index=pd.Index(names, name="name"))


def model_card(name: str) -> str:
    """The card's section of shipped model ``name`` (from its ``# name:`` heading to the next
    top-level heading); unknown names raise FileNotFoundError with the closest shipped name."""
    shipped = list(shipped_weights())
    if name not in shipped:
        close = difflib.get_close_matches(name, shipped, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise FileNotFoundError(f"{name!r} is no shipped model ({', '.join(shipped)}){hint}")
    lines = CARD.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"# {name}:")), None)
    if start is None:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("# ")), len(lines))
    return "\n".join(lines[start:end]).rstrip() + "\n"


__all__ = ["list_models", "model_card"]
