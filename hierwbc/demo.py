"""``hierwbc demo`` (``make demo``): the default hierarchy, then every real dataset found with
its images counted per raw label and per mapped node; without real data, a synthetic set drawn
for the tree. Later stages (training, embedding, evaluation, figures) run as the numbered
notebooks when those are present.
"""

from __future__ import annotations

from pathlib import Path

from .datasets import SYNTHETIC, real_or_synthetic, summary
from .hierarchy import default_hierarchy


def dataset_summaries(root=None, out: str | Path = "runs/demo") -> dict[str, object]:
    """Print the tree and each dataset's counts; return ``{name: manifest}``.

    Real datasets come from ``root`` (else ``HIERWBC_DATA``, else ``../shared/data``); when none
    is found, a synthetic set is drawn under ``out/synthetic`` and used instead.
    """
    h = default_hierarchy()
    print("Default hierarchy of white-blood-cell types\n")
    print(h.ascii(labels=True))
    print(f"\n{len(h.nodes)} nodes, {len(h.leaves)} leaves; lineages: {', '.join(h.lineages)}\n")
    manifests = real_or_synthetic(root, h, Path(out) / SYNTHETIC, n_per_leaf=8, size=64)
    if SYNTHETIC in manifests:
        print(f"No real data found (looked at {root or 'HIERWBC_DATA / ../shared/data'}); "
              f"drew a SYNTHETIC set of toy cells under {Path(out) / SYNTHETIC}.\n")
    for m in manifests.values():
        print(summary(m, h))
        print()
    return manifests


def main(args) -> int:
    dataset_summaries(args.data, args.out)
    if args.summary_only:
        return 0
    from .notebooks import numbered_notebooks, run_all  # executed with papermill into the run folder

    if not numbered_notebooks():  # an installed package without the repository's notebooks
        return 0

    return run_all(args.out, data=args.data)
