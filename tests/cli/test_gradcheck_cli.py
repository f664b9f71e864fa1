"""`cnnkit gradcheck`: the table, exit status 0 when every gradient agrees, 1 when one does not."""

from __future__ import annotations

import cnnkit.models
from cnnkit.cli import main
from tests.test_gradient_check import small_net


def test_gradcheck_of_a_zoo_model_prints_the_table_and_passes(capsys) -> None:
    assert main(["gradcheck", "lenet5", "--coords", "3"]) == 0
    out = capsys.readouterr().out
    assert ["features.0", "weight", "6×1×5×5"] in [line.split()[:3] for line in out.splitlines()]
    assert "11 of 11 gradients agree with finite differences (training mode, batch of 2, input 1×28×28)" in out


def test_gradcheck_of_one_layer(capsys) -> None:
    assert main(["gradcheck", "lenet5", "--layer", "classifier.2", "--eval"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 gradients agree" in out and "eval mode" in out and "features.0" not in out


def test_gradcheck_exits_1_on_a_wrong_gradient(capsys, monkeypatch) -> None:
    monkeypatch.setattr(cnnkit.models, "get_model", lambda name: small_net(planted_bug=True))
    monkeypatch.setattr(cnnkit.models, "model_info",
                        lambda name: type("Info", (), {"input_shape": (1, 4, 4)})())
    assert main(["gradcheck", "planted"]) == 1
    out = capsys.readouterr().out
    assert "FAIL: gradient of 1.weight (3,) is wrong at index" in out and "5 of 6 gradients agree" in out


def test_an_unknown_model_is_one_line(capsys) -> None:
    assert main(["gradcheck", "no_such_model"]) == 2
    assert "no_such_model" in capsys.readouterr().err
