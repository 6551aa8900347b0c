"""The paper's tables from an :class:`~hierwbc.evaluate.protocol.EvaluationResult`.

- :func:`summary_table`: Tables 1-3 (one per dataset): a row per model x probe, a column per
  metric, "mean ± std" over the CV folds (std with ddof=1; rates in percent, LCA heights in
  edges), as the paper's "wf1, bAcc" and "Lineage Acc, LCA, Hierarchical F1" blocks. With
  several training seeds (a ``seed`` column, :mod:`.seeds`): mean ± std over the seeds of each
  seed's fold mean, m_s = mean_f value[s, f], cell = mean_s m_s ± std_s m_s (ddof=1).
- :func:`significance_table`: the Appendix B table (paired bootstrap against the reference).
- :func:`report`: both, for every dataset, as CSV and Markdown files (written atomically).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hierwbc.io import atomic_write_text

#: Columns of the paper's Tables 1-3, in order, with their printed names.
PAPER_METRICS = {"weighted_f1": "wF1", "balanced_accuracy": "bAcc", "lineage_accuracy": "Lineage Acc",
                 "mistake_severity": "LCA", "hierarchical_f1": "Hierarchical F1"}
#: Metrics printed as they are (not as percentages).
RAW_METRICS = ("mistake_severity", "centroid_spearman")


def _is_raw(metric: str) -> bool:
    return metric in RAW_METRICS or metric.startswith("hdist@")


def ordered(values, first=()) -> list:
    """Distinct ``values`` in order of appearance, those in ``first`` first (in that order)."""
    seen = [v for v in pd.unique(pd.Series(list(values), dtype=object)) if not pd.isna(v)]
    return [v for v in first if v in seen] + [v for v in seen if v not in first]


def choose(table: pd.DataFrame, column: str, value, what: str = "table"):
    """The single value of ``column`` to use: ``value`` (checked to be present) or, when
    ``value`` is None, the only one there is; otherwise a ValueError listing the choices."""
    present = ordered(table[column].astype(object))
    if value is None:
        if len(present) != 1:
            raise ValueError(f"the {what} holds several {column}s {present}: pass {column}= one of them")
        return present[0]
    if value not in present:
        raise KeyError(f"{column} {value!r} not in the {what} (have {present})")
    return value


def summary_table(result, dataset: str | None = None, metrics=tuple(PAPER_METRICS),
                  formatted: bool = True) -> pd.DataFrame:
    """Mean ± std over folds per model x probe for one dataset (the only one if None); over
    seeds (of the per-seed fold means) when ``result.metrics`` has two seeds or more.

    ``formatted``: strings "89.97 ± 0.61" under the paper's column names; else numeric columns
    ``<metric>_mean``, ``<metric>_std``.
    """
    df = result.metrics
    df = df[(df["fold"] >= 0) & df["metric"].isin(metrics)]
    dataset = choose(df, "dataset", dataset, "evaluation result")
    df = df[df["dataset"] == dataset]
    if df.empty:
        raise ValueError(f"no per-fold metrics {list(metrics)} for dataset {dataset!r}")
    if n_seeds(result) > 1:  # one value per seed: its mean over folds
        df = df.groupby(["model", "probe", "metric", "seed"], observed=True, as_index=False)["value"].mean()
    g = df.groupby(["model", "probe", "metric"], observed=True)["value"]
    stats = pd.concat([g.mean().rename("mean"), g.std(ddof=1).rename("std")], axis=1).reset_index()
    wide = stats.pivot(index=["model", "probe"], columns="metric", values=["mean", "std"])
    models = ordered(df["model"], [result.reference] if result.reference else [])
    probes = ordered(df["probe"], ["1nn", "20nn", "logreg"])
    wide = wide.reindex(pd.MultiIndex.from_product([models, probes], names=["model", "probe"])).dropna(how="all")
    out = wide.index.to_frame(index=False)
    for m in metrics:
        if ("mean", m) not in wide.columns:
            continue
        mean, std = wide[("mean", m)].to_numpy(), wide[("std", m)].to_numpy()
        scale = 1.0 if _is_raw(m) else 100.0
        if formatted:
            out[PAPER_METRICS.get(m, m)] = [_pm(a * scale, b * scale) for a, b in zip(mean, std)]
        else:
            out[f"{m}_mean"], out[f"{m}_std"] = mean, std
    return out


def n_seeds(result) -> int:
    """Number of training seeds in ``result`` (1 without a ``seed`` column)."""
    return int(result.metrics["seed"].nunique()) if "seed" in result.metrics else 1


def _pm(mean: float, std: float) -> str:
    if np.isnan(mean):
        return "n/a"
    return f"{mean:.2f} ± {std:.2f}" if np.isfinite(std) else f"{mean:.2f}"


def significance_table(result, dataset: str | None = None, metrics=tuple(PAPER_METRICS)) -> pd.DataFrame:
    """Appendix B for one dataset: ``Metric, Other, Reference, Significant, Other value,
    Reference value, Delta, CI low, CI high, p, Task`` (delta = other - reference). With seeds:
    the seed-aware rows (``seed = -1``, :mod:`.seed_bootstrap`) when there are any."""
    sig = result.significance
    if sig.empty:
        raise ValueError("no bootstrap results (evaluate needs two or more models and n_boot > 0)")
    dataset = choose(sig, "dataset", dataset, "bootstrap table")
    if "seed" in sig and (sig["seed"] == -1).any():
        sig = sig[sig["seed"] == -1]
    s = sig[(sig["dataset"] == dataset) & sig["metric"].isin(metrics)].copy()
    s["_m"] = s["metric"].map({m: i for i, m in enumerate(metrics)})
    s["_p"] = s["probe"].map({p: i for i, p in enumerate(["1nn", "20nn", "logreg"])}).fillna(9)
    s = s.sort_values(["_m", "_p", "delta"])
    return pd.DataFrame({
        "Metric": s["metric"].map(lambda m: PAPER_METRICS.get(m, m)).to_numpy(), "Other": s["model"].to_numpy(),
        "Reference": s["reference"].to_numpy(), "Significant": s["significant"].to_numpy(),
        "Other value": s["value_model"].round(4).to_numpy(),
        "Reference value": s["value_reference"].round(4).to_numpy(),
        "Delta": s["delta"].round(4).to_numpy(), "CI low": s["ci_low"].round(4).to_numpy(),
        "CI high": s["ci_high"].round(4).to_numpy(),
        **({"p": s["p_value"].round(4).to_numpy()} if "p_value" in s else {}), "Task": s["probe"].to_numpy()})


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table (no extra dependency)."""
    cells = [[str(c) for c in df.columns]] + [[str(v) for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("---" for _ in df.columns) + "|")
    return "\n".join(lines) + "\n"


def merge_csv(path, new: pd.DataFrame, keys: list[str], sort: bool = True) -> pd.DataFrame:
    """``new`` rows replacing the rows of the CSV ``path`` with the same ``keys`` (the other rows
    kept), sorted by ``keys`` when ``sort``; written back atomically and returned. How a report
    folder adds one model's or one set's rows to its table."""
    path, out = Path(path), new
    if path.is_file():
        old = pd.read_csv(path)
        kept = old[~old.set_index(keys).index.isin(new.set_index(keys).index)]
        out = pd.concat([kept, new], ignore_index=True) if len(kept) else new
    if sort:
        out = out.sort_values(keys).reset_index(drop=True)
    atomic_write_text(path, out.to_csv(index=False, float_format="%.6g"))
    return out


def report(result, out_dir, metrics=tuple(PAPER_METRICS)) -> dict[str, Path]:
    """Write, per dataset, ``table_<dataset>.{csv,md}`` (Tables 1-3) and, with a bootstrap,
    ``significance_<dataset>.{csv,md}`` (Appendix B), plus the tidy ``metrics.csv``.
    Returns ``{file stem: path}`` of the CSVs."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    def put(stem: str, df: pd.DataFrame, title: str) -> None:
        atomic_write_text(out / f"{stem}.csv", df.to_csv(index=False))
        atomic_write_text(out / f"{stem}.md", f"# {title}\n\n" + to_markdown(df))
        written[stem] = out / f"{stem}.csv"

    atomic_write_text(out / "metrics.csv", result.metrics.to_csv(index=False))
    written["metrics"] = out / "metrics.csv"
    seeds = n_seeds(result)
    over = f"{seeds} training seeds (each the mean over folds)" if seeds > 1 else "folds"
    boot = f", cells and {seeds} seeds resampled" if seeds > 1 else ""
    for ds in pd.unique(result.metrics["dataset"]):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(ds))
        put(f"table_{safe}", summary_table(result, ds, metrics),
            f"{ds}: mean ± std over {over} (rates in %, LCA in edges)")
        if not result.significance.empty and ds in set(result.significance["dataset"]):
            put(f"significance_{safe}", significance_table(result, ds, metrics),
                f"{ds}: stratified paired bootstrap against {result.reference} (95% interval){boot}")
    return written
