"""precision=auto measures the CPU: bf16 only where its matmul is faster than float32."""

import torch

from hierwbc.train import wrap


def test_auto_picks_bf16_where_measured_faster(monkeypatch):
    monkeypatch.setattr(wrap, "matmul_rates", lambda device: {"fp32": 100.0, "bf16": 275.0})
    precision, info = wrap.choose_precision("auto", torch.device("cpu"))
    assert precision == "bf16" and info["bf16_over_fp32"] == 2.75
    assert info["fp32_gflops"] == 100.0 and info["bf16_gflops"] == 275.0


def test_auto_keeps_fp32_where_bf16_is_slower(monkeypatch):
    monkeypatch.setattr(wrap, "matmul_rates", lambda device: {"fp32": 100.0, "bf16": 0.5})
    precision, info = wrap.choose_precision("auto", torch.device("cpu"))
    assert precision == "fp32" and "0.01x" in info["reason"]
    assert wrap.resolve_precision("auto", torch.device("cpu")) == "fp32"


def test_an_explicit_precision_is_not_measured(monkeypatch):
    def boom(device):
        raise AssertionError("measured although precision was given")

    monkeypatch.setattr(wrap, "matmul_rates", boom)
    assert wrap.choose_precision("bf16", torch.device("cpu"))[0] == "bf16"


def test_matmul_rates_are_positive_numbers():
    rates = wrap.matmul_rates(torch.device("cpu"), n=64, min_seconds=0.001)
    assert set(rates) == {"fp32", "bf16"} and all(r > 0 for r in rates.values())
