"""`cnnkit segment-baseline`: the eval-style table for a classifier run or the oracle; one-line errors.
(Here rather than in tests/cli/ to share the tiny classifier run of tests/segmentation/conftest.py.)"""

from __future__ import annotations

import re

import pytest

from cnnkit.cli import main


def scores(text: str) -> tuple[float, float]:
    accuracy = float(re.search(r"^pixel accuracy: ([0-9.]+)$", text, re.M).group(1))
    miou = float(re.search(r"^mean IoU: ([0-9.]+)  \(over the classes present", text, re.M).group(1))
    return accuracy, miou


def test_classifier_run_prints_the_same_table_as_eval(classifier_run, tiny_items, capsys):
    code = main(["segment-baseline", str(classifier_run), "--data-dir", str(tiny_items), "--num-scenes", "12",
                 "--threshold", "0"])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "threshold 0, holes filled, 4-connected components of at least 20 px, named by lenet5_relu" in text
    assert "(averaged with mirrored crops)" in text and "test split (12 scenes, plain, seed 0" in text
    accuracy, miou = scores(text)
    assert 0 <= miou <= 1 and 0 <= accuracy <= 1
    assert re.search(r"^background +[0-9.]+ +[0-9.]+ +[0-9,]+ +[0-9,]+$", text, re.M)
    assert "Ankle boot" in text and "frequency-weighted IoU" in text


def test_oracle_needs_no_classifier_and_scores_at_least_as_well(classifier_run, tiny_items, capsys):
    common = ["--data-dir", str(tiny_items), "--num-scenes", "12", "--threshold", "0", "--connectivity", "8"]
    assert main(["segment-baseline", "--oracle", *common]) == 0
    oracle = capsys.readouterr().out
    assert "named by the true classes (oracle)" in oracle and "8-connected" in oracle
    assert main(["segment-baseline", str(classifier_run), "--no-mirror", *common]) == 0
    assert scores(oracle)[1] >= scores(capsys.readouterr().out)[1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give CLASSIFIER_RUN (a Fashion-MNIST classifier's run folder or checkpoint) or --oracle"),
        (["--oracle", "RUN"], "give either CLASSIFIER_RUN or --oracle, not both"),
        (["--oracle", "--threshold", "high"], "--threshold: expected 'otsu' or a grey level 0-255, got 'high'"),
        (["--oracle", "--min-size", "0"], "min_size must be a positive number of pixels, got 0"),
        (["missing-run"], "no such run folder or checkpoint: missing-run"),
    ],
)
def test_errors_are_one_line(extra, message, tiny_items, capsys):
    assert main(["segment-baseline", *extra, "--data-dir", str(tiny_items), "--num-scenes", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnkit segment-baseline: error: ") and message in err and err.count("\n") == 1


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["segment-baseline", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--clutter", "--split", "--threshold", "--min-size", "--oracle", "--num-scenes", "--data-dir"):
        assert option in text
