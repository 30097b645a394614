"""The network trial's per-epoch learning rate and its dtype policy: plain functions, no
TensorFlow session needed."""

import math

import pytest

from trainables import precision
from trainables.deep import learning_rate_at


def test_cosine_runs_from_the_rate_down_towards_zero_over_max_epochs():
    config = {"learning_rate": 1e-3, "lr_schedule": "cosine"}
    rates = [learning_rate_at(config, epoch, 10) for epoch in range(10)]
    assert rates[0] == pytest.approx(1e-3)
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert rates[5] == pytest.approx(0.5e-3) and 0 < rates[-1] < 0.03e-3


def test_a_constant_schedule_keeps_the_rate():
    config = {"learning_rate": 3e-4, "lr_schedule": "constant"}
    assert {learning_rate_at(config, epoch, 7) for epoch in range(7)} == {3e-4}


def test_the_second_phase_runs_at_the_backbone_multiple_on_the_same_curve():
    config = {"learning_rate": 1e-3, "lr_schedule": "cosine", "two_phase": True, "head_epochs": 2,
              "backbone_lr_mult": 0.1}
    assert learning_rate_at(config, 1, 8) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi / 8)))
    assert learning_rate_at(config, 2, 8) == pytest.approx(1e-4 * 0.5 * (1 + math.cos(2 * math.pi / 8)))


def test_precision_auto_picks_by_device(monkeypatch):
    assert precision.precision_policy("auto", on_gpu=True) == "mixed_float16"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)
    assert precision.precision_policy("auto", on_gpu=False) == "mixed_bfloat16"
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: False)
    assert precision.precision_policy("auto", on_gpu=False) == "float32"
    assert precision.precision_policy("float32", on_gpu=True) == "float32"  # asked for: kept
    with pytest.raises(ValueError, match="float64"):
        precision.precision_policy("float64", on_gpu=False)


def test_the_cli_refuses_an_unknown_precision(capsys):
    from search.cli import main

    assert main(["cnn", "--precision", "half"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 2 and "--precision" in err and "mixed_bfloat16" in err
