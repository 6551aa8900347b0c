"""Rebuild reports/pretraining/ from the pretraining runs (trials and the long run).

    .venv/bin/python reports/pretraining/make_report.py \
        [--runs runs/pretrain_trials runs/pretrain runs/pretrain_trials2 runs/pretrain_trials3 runs/pretrain_trials4]
    # the classifier runs of reports/reproduction (HierCE continued from the starter):
    .venv/bin/python reports/pretraining/make_report.py --runs runs/classifier_cpu runs/classifier_cpu3000 \
        --out reports/reproduction/classifier_trials --base experiments/classifier_cpu.yaml

Each run folder's config.yaml and a thinned metrics.jsonl (every 10th step and every kNN check)
are copied into ``runs/<name>/`` here; the table (trials.csv, trials.md) and the figure
(knn_curves.png) are computed from those copies only, so every number in this folder can be
traced to a file in it (``--out``: another folder; ``--base``: the config the settings column
is written against). A run that continues another (``model.pretrained`` names a weights file
exported at ``step<N>``, e.g. ``stage1_step002600.safetensors``) counts its steps from N in the
table's ``from step`` column and on the figure's step axis; one that continues the shipped starter
by name counts from the step that starter had reached when the run was made (``CONTINUED_AT``).
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

from hierwbc.evaluate.report import to_markdown
from hierwbc.io import atomic_write, atomic_write_text
from hierwbc.plotting.colors import category_colors

HERE = Path(__file__).resolve().parent
BASE = HERE.parent.parent / "experiments" / "pretrain_cpu.yaml"
KEYS = ("max_steps", "knn_every", "model.img_size", "model.patch_size", "model.layerscale", "crops.local_crops_number",
        "crops.local_crops_size", "batch_size", "dino.head_n_prototypes", "teacher.teacher_temp",
        "teacher.momentum_teacher", "teacher.final_momentum_teacher", "teacher.momentum_steps", "optim.base_lr",
        "optim.warmup_steps", "optim.freeze_last_layer_steps", "optim.weight_decay", "crops.global_crops_scale",
        "crops.jitter", "dino.koleo_loss_weight", "dino.centering", "seed")


# runs that continue the shipped starter by name: the step it stood at then (stage 1's 2,600 + S2B's 1,800)
CONTINUED_AT = {"hierwbc-tiny-pbc": 4400}


def start_step(cfg: dict) -> int:
    """The step a run continues from: N of ``step<N>`` in its ``model.pretrained`` file name, the
    shipped starter's step (``CONTINUED_AT``), else 0."""
    name = str(cfg.get("model.pretrained") or "")
    if name in CONTINUED_AT:
        return CONTINUED_AT[name]
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
        keep = []
        lines = [ln for ln in (run / "metrics.jsonl").read_text().splitlines() if ln.strip()]
        last_step = max(json.loads(ln)["step"] for ln in lines if "loss" in json.loads(ln))
        for line in lines:
            row = json.loads(line)
            if "knn_bacc" in row or row["step"] % 10 == 0 or row["step"] == last_step:
                keep.append(line)
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
        seconds = float((cfg["batch_size"] / steps["images_per_s"]).sum() * 10) if len(steps) else 0.0
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


def figure(folder: Path = HERE) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    runs = sorted((folder / "runs").iterdir())
    colors = category_colors("run", [r.name for r in runs])
    for run in runs:
        m = pd.read_json(run / "metrics.jsonl", lines=True)
        if "knn_bacc" not in m:
            continue
        knn = m.dropna(subset=["knn_bacc"])
        offset = start_step(_flat(yaml.safe_load((run / "config.yaml").read_text())))
        ax.plot(knn["step"] + offset, 100 * knn["knn_bacc"], marker="o", ms=3, label=run.name,
                color=colors[run.name])
    ax.set_xlabel("step (a continued run counts from the step it continues)")
    ax.set_ylabel("20-NN balanced accuracy (%), PBC validation")
    ax.set_title("online kNN of the teacher during training")
    ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(folder / "knn_curves.png", lambda tmp: fig.savefig(tmp, format="png", dpi=120))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs="*", default=["runs/pretrain_trials", "runs/pretrain", "runs/pretrain_trials2",
                                              "runs/pretrain_trials3", "runs/pretrain_trials4"])
    p.add_argument("--out", type=Path, default=HERE, help="the report folder (default: this one)")
    p.add_argument("--base", type=Path, default=BASE, help="the config the settings column is written against")
    args = p.parse_args(argv)
    dirs = []
    for r in map(Path, args.runs):
        dirs += [r] if (r / "metrics.jsonl").exists() else sorted(d for d in r.glob("*") if d.is_dir())
    collect(dirs, args.out)
    t = table(args.out, args.base)
    atomic_write_text(args.out / "trials.csv", t.to_csv(index=False))
    atomic_write_text(args.out / "trials.md", to_markdown(t))
    figure(args.out)
    print(t.to_string(index=False))


if __name__ == "__main__":
    main()
