"""Rebuild reports/pretraining/ from the pretraining runs (trials and the long run).

    .venv/bin/python reports/pretraining/make_report.py \
        [--runs runs/pretrain_trials runs/pretrain runs/pretrain_trials2 runs/pretrain_trials3 runs/pretrain_trials4 \
         runs/pretrain_trials5]
    # the classifier runs of reports/reproduction (HierCE continued from the starter):
    .venv/bin/python reports/pretraining/make_report.py --runs runs/classifier_cpu runs/classifier_cpu3000 \
        --out reports/reproduction/classifier_trials --base configs/classifier_cpu.yaml

Each run folder's config.yaml and a thinned metrics.jsonl (every 10th step and every kNN check)
are copied into ``runs/<name>/`` here; the table (trials.csv, trials.md), the figure
(knn_curves.png) and the from-scratch trials compared at step 400 (short_trials.md) are computed
from those copies only, so every number in this folder can be traced to a file in it
(``--out``: another folder; ``--base``: the config the settings column is written against).
A run that continues another (``model.pretrained`` names a weights file exported at
``step<N>``, e.g. ``stage1_step002600.safetensors``) counts its steps from N in the table's
``from step`` column and on the figure's step axis; one that continues a shipped file by
name counts from the step that file's training had reached (its metadata).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import yaml

from hierwbc.evaluate.tables import to_markdown
from hierwbc.io import atomic_write, atomic_write_text
from hierwbc.models.shipped import is_shipped_name, read_metadata
from hierwbc.plotting.colors import category_colors

HERE = Path(__file__).resolve().parent
BASE = HERE.parent.parent / "configs" / "pretrain_cpu.yaml"
KEYS = ("max_steps", "knn_every", "model.img_size", "model.patch_size", "model.layerscale", "crops.local_crops_number",
        "crops.local_crops_size", "batch_size", "dino.head_n_prototypes", "teacher.teacher_temp",
        "teacher.momentum_teacher", "teacher.final_momentum_teacher", "teacher.momentum_steps", "optim.base_lr",
        "optim.warmup_steps", "optim.freeze_last_layer_steps", "optim.weight_decay", "crops.global_crops_scale",
        "crops.jitter", "dino.koleo_loss_weight", "dino.centering", "seed", "model.arch", "ibot.head_n_prototypes",
        "optim.weight_decay_end", "teacher.warmup_teacher_temp_steps")
SHORT_STEP = 400  # the from-scratch trials are compared at this step (short_trials)


def start_step(cfg: dict) -> int:
    """The step a run continues from: N of ``step<N>`` in its ``model.pretrained`` file name; for a
    shipped file named by its short name, the steps of the run that wrote it (its metadata) plus
    the step that run continued from, and so on (the starter: stage 1's 2,600 + stage 2's 1,800);
    else 0."""
    name = str(cfg.get("model.pretrained") or "")
    if is_shipped_name(name):
        meta = read_metadata(name)
        return int(meta["steps"]) + start_step(_flat(json.loads(meta["config"])))
    m = re.search(r"step_?(\d+)", Path(name).name)
    return int(m.group(1)) if m else 0


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def collect(run_dirs: list[Path], folder: Path = HERE) -> None:
    """Copy config.yaml and the thinned metrics of each run into ``folder``/runs/<name>/."""
    for run in run_dirs:
        if not (run / "metrics.jsonl").exists():
            continue
        dest = folder / "runs" / run.name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run / "config.yaml", dest / "config.yaml")
        if (run / "precision.json").exists():
            shutil.copyfile(run / "precision.json", dest / "precision.json")
        # a resumed run logs again the steps after its last checkpoint: the later record of a step wins
        latest = {}
        for line in (run / "metrics.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                latest[(row["step"], "knn_bacc" in row)] = line
        last_step = max(step for step, is_knn in latest if not is_knn)
        keep = [line for (step, is_knn), line in sorted(latest.items(), key=lambda kv: (kv[0][0], not kv[0][1]))
                if is_knn or step % 10 == 0 or step == last_step]
        atomic_write_text(dest / "metrics.jsonl", "\n".join(keep) + "\n")


def table(folder: Path = HERE, base_config: Path = BASE) -> pd.DataFrame:
    """One row per run copied into ``folder``/runs: its settings that differ from
    ``base_config``, steps, minutes, final losses and its kNN checks."""
    base = _flat(yaml.safe_load(base_config.read_text()))
    rows = []
    for run in sorted((folder / "runs").iterdir()):
        cfg = _flat(yaml.safe_load((run / "config.yaml").read_text()))
        m = pd.read_json(run / "metrics.jsonl", lines=True)
        steps = m.dropna(subset=["loss"]) if "loss" in m else m.iloc[:0]
        knn = m.dropna(subset=["knn_bacc"]) if "knn_bacc" in m else m.iloc[:0]
        last = steps.tail(10)
        # every 10th step is kept: its seconds stand for the 10 steps around it
        seconds = float(step_seconds(cfg, m).sum() * 10) if len(steps) else 0.0
        row = {"run": run.name,
               "from step": start_step(cfg),
               "settings": ", ".join(f"{k}={cfg[k]}" for k in KEYS if k in cfg and cfg[k] != base.get(k)) or "base",
               "steps": int(steps["step"].max() + 1) if len(steps) else 0,
               "minutes (from images/s)": round(seconds / 60, 1),
               "final dino": round(float(last["dino"].mean()), 3) if len(last) else None,
               "target entropy": round(float(last["dino_target_entropy"].mean()), 3) if len(last) else None,
               **({"final sup": round(float(last["sup"].mean()), 3)} if "sup" in last and last["sup"].notna().any()
                  else {}),
               "knn_bacc at checks": " ".join(f"{int(s)}:{100 * v:.1f}" for s, v in zip(knn["step"], knn["knn_bacc"])),
               "best knn_bacc": round(100 * float(knn["knn_bacc"].max()), 1) if len(knn) else None}
        rows.append(row)
    return pd.DataFrame(rows)


def is_short_trial(table_row: pd.Series) -> bool:
    """A from-scratch trial stopped soon after its step-``SHORT_STEP`` check (T1, T3, T4, T5...)."""
    return table_row["from step"] == 0 and table_row["steps"] <= SHORT_STEP + 50


def step_seconds(cfg: dict, metrics: pd.DataFrame) -> pd.Series:
    """Seconds of each logged training step (the trainer logs images/s per step)."""
    return cfg["batch_size"] / metrics.dropna(subset=["loss"])["images_per_s"]


def short_trials(folder: Path = HERE, base_config: Path = BASE, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The from-scratch trials that reached step ``SHORT_STEP``, side by side: 20-NN bAcc (%) at
    step 0 and at ``SHORT_STEP``, the mean of the checks from step 300 on (less noisy than one
    check), and the median seconds per training step (one core each; their CPUs and precisions
    differ between sittings: ``precision``). ``change`` lists the settings that differ from T1's
    (``T1_56p14``, the control); rows in trial order. ``runs``: :func:`table`'s, if already made."""
    runs = table(folder, base_config) if runs is None else runs
    runs = runs[runs.apply(is_short_trial, axis=1)]
    control = runs.loc[runs["run"] == "T1_56p14", "settings"]
    common = set(control.iloc[0].split(", ")) if len(control) else set()
    order = runs["run"].map(lambda name: (int(m.group(1)) if (m := re.match(r"T(\d+)", name)) else 10**6, name))
    rows = []
    for _, r in runs.loc[order.sort_values().index].iterrows():
        m = pd.read_json(folder / "runs" / r["run"] / "metrics.jsonl", lines=True)
        knn = m.dropna(subset=["knn_bacc"]).set_index("step")["knn_bacc"] * 100
        if SHORT_STEP not in knn.index:
            continue
        cfg = _flat(yaml.safe_load((folder / "runs" / r["run"] / "config.yaml").read_text()))
        precision = folder / "runs" / r["run"] / "precision.json"
        change = ", ".join(s for s in r["settings"].split(", ") if s not in common)
        rows.append({"run": r["run"], "change": change or "as T1",
                     "precision": json.loads(precision.read_text())["precision"] if precision.exists() else "",
                     "s per step": round(float(step_seconds(cfg, m).median()), 2),
                     "knn step 0": round(float(knn.loc[0]), 1),
                     f"knn step {SHORT_STEP}": round(float(knn.loc[SHORT_STEP]), 1),
                     "mean of steps 300+": round(float(knn.loc[300:SHORT_STEP].mean()), 1)})
    return pd.DataFrame(rows)


def figure(folder: Path = HERE, base_config: Path = BASE, runs: pd.DataFrame | None = None) -> None:
    """knn_curves.png: the online kNN of every run; the short from-scratch trials in a panel of
    their own when there are any. ``runs``: :func:`table`'s, if already made."""
    rows = (table(folder, base_config) if runs is None else runs).set_index("run")
    short = [name for name, r in rows.iterrows() if is_short_trial(r)]
    panels = [[name for name in rows.index if name not in short]] + ([short] if short else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, names in zip(axes[0], panels):
        colors = category_colors("run", names)
        for name in names:
            m = pd.read_json(folder / "runs" / name / "metrics.jsonl", lines=True)
            if "knn_bacc" not in m:
                continue
            knn = m.dropna(subset=["knn_bacc"])
            control = re.fullmatch(r"T1(_.*|r.*)", name) is not None  # T1 and its reruns, not T10...
            ax.plot(knn["step"] + rows.loc[name, "from step"], 100 * knn["knn_bacc"], marker="o", ms=3,
                    label=name, color="black" if control else colors[name], lw=2.5 if control else 1)
        ax.set_xlabel("step (a continued run counts from the step it continues)")
        ax.set_ylabel("20-NN balanced accuracy (%), PBC validation")
        ax.legend(fontsize=6, ncol=2)
    axes[0][0].set_title("online kNN of the teacher during training")
    if short:
        axes[0][1].set_title(f"from-scratch trials to step {SHORT_STEP} (T1 and its reruns: black)")
    fig.tight_layout()
    atomic_write(folder / "knn_curves.png", lambda tmp: fig.savefig(tmp, format="png", dpi=120))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs="+", default=None,
                   help="run folders to copy in (git-ignored, e.g. runs/pretrain_trials runs/pretrain ...); "
                        "without it the table and figure are rebuilt from the copies already here")
    p.add_argument("--out", type=Path, default=HERE, help="the report folder (default: this one)")
    p.add_argument("--base", type=Path, default=BASE, help="the config the settings column is written against")
    args = p.parse_args(argv)
    dirs = []
    for r in map(Path, args.runs or []):
        dirs += [r] if (r / "metrics.jsonl").exists() else sorted(d for d in r.glob("*") if d.is_dir())
    collect(dirs, args.out)
    t = table(args.out, args.base)
    atomic_write_text(args.out / "trials.csv", t.to_csv(index=False))
    atomic_write_text(args.out / "trials.md", to_markdown(t))
    figure(args.out, args.base, t)
    short = short_trials(args.out, args.base, t)
    if len(short):
        atomic_write_text(args.out / "short_trials.md", to_markdown(short))
    print(t.to_string(index=False))


if __name__ == "__main__":
    main()
