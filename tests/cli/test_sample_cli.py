"""`cnnkit generate` (alias `sample`), `cnnkit eval` and `train --task diffusion` on a tiny diffusion run: grids,
trajectory, reproducibility, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cnnkit.cli import main
from cnnkit.models import lenet5
from cnnkit.training.checkpoint import save_checkpoint
from tests.training.tiny_generation import train_tiny_generator


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_tiny_generator(tmp_path_factory.mktemp("generate"), epochs=1)


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def test_sample_writes_a_grid_per_class_and_the_trajectory(run_dir, tmp_path, capsys) -> None:
    out, strip = tmp_path / "grid.png", tmp_path / "strip.png"
    assert (
        main(["generate", str(run_dir), "--n", "25", "--steps", "3", "--out", str(out), "--trajectory", str(strip)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "20 samples (DDIM-3, η 1, guidance 2, EMA weights, seed 0)" in printed  # 2 per class, 10 classes
    assert out.is_file() and strip.is_file() and "trajectory of 6 samples" in printed
    again = tmp_path / "again.png"
    assert main(["sample", str(run_dir), "--n", "25", "--steps", "3", "--out", str(again)]) == 0
    np.testing.assert_array_equal(pixels(again), pixels(out))  # the same seed gives the same images (`sample` too)
    other = tmp_path / "other.png"
    assert main(["sample", str(run_dir), "--n", "25", "--steps", "3", "--seed", "1", "--out", str(other)]) == 0
    assert np.abs(pixels(other).astype(int) - pixels(out)).max() > 0


def test_sample_one_class_unconditional_and_ddpm(run_dir, tmp_path, capsys) -> None:
    assert (
        main(
            ["sample", str(run_dir), "--n", "3", "--steps", "2", "--class", "sneaker", "--out", str(tmp_path / "s.png")]
        )
        == 0
    )
    assert "3 samples (DDIM-2" in capsys.readouterr().out
    assert (
        main(
            [
                "sample",
                str(run_dir),
                "--n",
                "2",
                "--sampler",
                "ddpm",
                "--unconditional",
                "--out",
                str(tmp_path / "u.png"),
            ]
        )
        == 0
    )
    assert "2 samples (DDPM-100, unconditional" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--class", "hat"], "unknown class 'hat'; classes: 0 T-shirt/top"),
        (["--unconditional", "--guidance", "1"], "--guidance needs class-conditional samples"),
        (["--n", "0"], "--n and --cols must be positive"),
        (["--steps", "500"], "steps between 1 and 100"),
    ],
)
def test_sample_errors_are_one_line(run_dir, tmp_path, capsys, args, message) -> None:
    assert main(["sample", str(run_dir), "--out", str(tmp_path / "x.png"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def classifier_checkpoint(path):
    meta = {
        "kind": "classification",
        "config": {"model": "lenet5", "model_args": {}},
        "epoch": 1,
        "data": {
            "dataset": "fashion-mnist",
            "input_shape": [1, 28, 28],
            "mean": [0.286],
            "std": [0.353],
            "classes": [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        },
    }
    save_checkpoint(path, lenet5().state_dict(), None, meta)
    return path


def test_sample_refuses_a_classifier_and_eval_prints_the_quality_table(run_dir, tmp_path, capsys) -> None:
    classifier = classifier_checkpoint(tmp_path / "lenet.safetensors")
    assert main(["sample", str(classifier), "--out", str(tmp_path / "x.png")]) == 2
    assert "holds a classification model, not a diffusion model" in capsys.readouterr().err
    assert main(["eval", str(run_dir), "--samples", "20", "--steps", "2", "--features", str(classifier)]) == 0
    out = capsys.readouterr().out
    for words in (
        "20 samples per set",
        "per-class mean images",
        "samples, conditional w = 2",
        "label agreement",
        "class coverage",
        "copy check",
    ):
        assert words in out
    assert len(list((run_dir / "eval-samples").glob("*.safetensors"))) == 2  # the two sample sets, kept
    assert main(["eval", str(run_dir), "--samples", "20", "--steps", "2", "--features", str(classifier),
                 "--parts", "conditional", "--no-sample-store"]) == 0
    out = capsys.readouterr().out
    assert "samples, conditional w = 2" in out and "class coverage" not in out
    assert main(["eval", str(run_dir), "--samples", "20", "--parts", "uncond", "--features", str(classifier)]) == 2
    assert "--parts: unknown uncond; choose from unconditional, conditional, ddpm-check" in capsys.readouterr().err
    assert main(["eval", str(run_dir), "--samples", "20", "--features", str(tmp_path / "none.safetensors")]) == 2
    assert "no feature classifier at" in capsys.readouterr().err
    assert main(["predict", str(run_dir), str(tmp_path / "x.png")]) == 2
    assert "is a diffusion model: it makes images rather than labelling them" in capsys.readouterr().err


def test_task_diffusion_is_the_generate_task(tmp_path) -> None:
    from tests.training.tiny_data import write_tiny_fashion
    from tests.training.tiny_generation import DATA_ARGS, MODEL_ARGS

    data = write_tiny_fashion(tmp_path / "data", n_train=40, n_test=40)
    args = ["train", "--task", "diffusion", "--data-dir", str(data), "--epochs", "1", "--batch-size", "32", "--quiet"]
    args += ["--model-args", json.dumps(MODEL_ARGS), "--data-args", json.dumps({**DATA_ARGS, "grid_per_class": 0})]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["task"] == "generate" and config["model"] == "diffusion_unet"


def test_eval_keeps_samples_beside_a_run_but_not_inside_the_package(run_dir, tmp_path, monkeypatch) -> None:
    from pathlib import Path

    import cnnkit
    from cnnkit.cli.evaluate_generation import sample_dir

    assert sample_dir(str(run_dir), None) == run_dir.resolve() / "eval-samples"
    assert sample_dir(str(run_dir), str(tmp_path / "mine")) == tmp_path / "mine"
    shipped = Path(cnnkit.__file__).resolve().parent / "models" / "weights" / "ddpm_fashion_uncond.safetensors"
    monkeypatch.chdir(tmp_path)  # a shipped model's chunks go under the current folder, never into the package
    assert sample_dir(str(shipped), None) == Path("eval-samples") / "ddpm_fashion_uncond"


def test_online_weights_are_refused_for_an_ema_only_export_and_the_class_is_named(run_dir, tmp_path, capsys) -> None:
    from cnnkit.training.export import export_checkpoint

    exported = tmp_path / "ema.safetensors"
    export_checkpoint(run_dir, exported, ema_only=True)
    assert main(["generate", str(exported), "--online", "--n", "2", "--out", str(tmp_path / "x.png")]) == 2
    assert "is an --ema-only export and holds only the averaged weights" in capsys.readouterr().err
    assert main(["generate", str(run_dir), "--online", "--n", "2", "--steps", "2", "--class", "1",
                 "--out", str(tmp_path / "y.png")]) == 0  # a training checkpoint has them
    assert "online weights" in capsys.readouterr().out
    assert main(["generate", str(exported), "--n", "2", "--steps", "2", "--class", "1",
                 "--out", str(tmp_path / "z.png")]) == 0
    assert ", class Trouser," in capsys.readouterr().out  # class 1 of Fashion-MNIST


def test_named_parts_that_would_measure_nothing_are_refused() -> None:
    from cnnkit.cli.evaluate_generation import chosen_parts

    assert chosen_parts(None, 0, False) == ["unconditional", "conditional", "ddpm-check"]  # default: what applies
    assert chosen_parts("conditional, unconditional", 0, True) == ["conditional", "unconditional"]
    with pytest.raises(ValueError, match="--parts ddpm-check needs --ddpm-check N"):
        chosen_parts("ddpm-check", 0, True)
    assert chosen_parts("ddpm-check", 500, True) == ["ddpm-check"]
    with pytest.raises(ValueError, match="--parts conditional needs a class-conditional model"):
        chosen_parts("conditional", 0, False)
