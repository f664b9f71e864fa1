"""The `cnnkit` command: train, eval, predict, summary and models on a tiny data set; one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cnnkit.cli import main
from tests.training.tiny_data import make_images, write_tiny_fashion


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    data_dir = write_tiny_fashion(tmp_path_factory.mktemp("fashion"))
    out = tmp_path_factory.mktemp("runs") / "lenet"
    code = main(["train", "--model", "lenet5_relu", "--data-dir", str(data_dir), "--epochs", "3", "--batch-size",
                 "32", "--out", str(out), "--quiet"])
    assert code == 0
    return out, data_dir


def test_train_prints_epochs_and_final_accuracy(trained_run, capsys):
    out, _ = trained_run
    assert (out / "best.safetensors").is_file() and (out / "history.csv").is_file()


def test_eval_prints_accuracy_per_class_and_confusion(trained_run, capsys):
    out, data_dir = trained_run
    assert main(["eval", str(out), "--data-dir", str(data_dir)]) == 0
    text = capsys.readouterr().out
    history = json.loads((out / "history.json").read_text())
    best_epoch = max(history, key=lambda row: row["val_accuracy"])["epoch"]  # chosen on validation
    assert f"test set (100 images, checkpoint of epoch {best_epoch})" in text
    assert text.count("accuracy: ") == 1 and float(text.split("accuracy: ")[1].split()[0]) >= 0.8
    assert "per-class accuracy" in text and "Ankle boot" in text and "confusion matrix" in text
    assert "T-shirt/top" in text.split("confusion matrix")[1]  # whole names in the matrix too


def test_predict_converts_images_like_training(trained_run, tmp_path, capsys):
    out, _ = trained_run
    image = make_images(np.array([5]), np.random.default_rng(3))[0]
    grey = tmp_path / "sandal.png"
    Image.fromarray(image).save(grey)
    colour_big = tmp_path / "sandal_rgb.jpg"  # another size and colour mode, converted as in training
    Image.fromarray(image).convert("RGB").resize((56, 56), Image.NEAREST).save(colour_big, quality=95)
    assert main(["predict", str(out), str(grey), str(colour_big), "--json", "--top-k", "2"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [len(r["top"]) for r in results] == [2, 2]
    assert results[0]["top"][0]["class"] == "Sandal"
    assert results[1]["top"][0]["class"] == "Sandal"
    assert results[0]["top"][0]["probability"] >= results[0]["top"][1]["probability"]


def test_predict_with_flip_tta_averages_the_image_and_its_mirror(trained_run, tmp_path, capsys):
    import cnnkit
    from cnnkit.training.restore import load_trained_model, prepare_image

    out, _ = trained_run
    image = make_images(np.array([5]), np.random.default_rng(4))[0]
    path = tmp_path / "sandal.png"
    Image.fromarray(image).save(path)
    assert main(["predict", str(out), str(path), "--json", "--top-k", "10", "--tta", "flip"]) == 0
    printed = capsys.readouterr()
    [result] = json.loads(printed.out)
    assert "warning: this model was trained with augment=none, without mirrored images" in printed.err
    model, _, info = load_trained_model(str(out))
    model.eval()
    batch = prepare_image(str(path), info)
    with cnnkit.no_grad():
        pair = [model(cnnkit.tensor(np.ascontiguousarray(b))).softmax(1)._data[0] for b in (batch, batch[..., ::-1])]
    expected = (pair[0] + pair[1]) / 2
    got = {t["index"]: t["probability"] for t in result["top"]}
    np.testing.assert_allclose([got[i] for i in range(10)], expected, atol=2e-6)
    assert np.abs(pair[0] - pair[1]).max() > 1e-3  # the mirror changes the answer: the average is not a no-op


def test_predict_refuses_a_file_that_is_not_an_image(trained_run, tmp_path, capsys):
    out, _ = trained_run
    fake = tmp_path / "notes.png"
    fake.write_text("not an image")
    assert main(["predict", str(out), str(fake)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "notes.png is not an image" in err and "Traceback" not in err


def test_wrong_checkpoint_and_unknown_model_are_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"garbage")
    assert main(["eval", str(bad)]) == 2
    assert "x.safetensors is not a safetensors file" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing")]) == 2
    assert "no such run folder or checkpoint" in capsys.readouterr().err
    assert main(["summary", "lenet7"]) == 2
    assert "unknown model 'lenet7'" in capsys.readouterr().err
    assert main(["train", "--model-args", "{oops"]) == 2
    assert "--model-args is not valid JSON" in capsys.readouterr().err


def test_summary_and_models(capsys):
    assert main(["summary", "lenet5"]) == 0
    text = capsys.readouterr().out
    assert "Total params: 61,706" in text
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert "resnet18" in text and "11,689,512" in text
    # each task's default model as that task trains it: the segmenting U-Net at depth 4, not the zoo's depth 3
    assert re.search(r"^segment +unet +1,942,459 +fashion-scenes +\{\"base_channels\": 16, \"depth\": 4\}$", text, re.M)
    assert re.search(r"^classify +lenet5 +61,706 +fashion-mnist", text, re.M)
    assert re.search(r"^detect +yolo +202,948 ", text, re.M)
    assert re.search(r"^generate +diffusion_unet +958,209 ", text, re.M)


def test_eval_tables_keep_whole_class_names():
    import numpy as np

    from cnnkit.cli.evaluate import format_confusion

    table = format_confusion(np.array([[5, 1000], [0, 7]]), ["T-shirt/top", "Ankle boot"])
    header, first, second = table.splitlines()
    assert header.split() == ["true", "\\", "pred", "T-shirt/top", "Ankle", "boot"]
    assert first.startswith("T-shirt/top ") and first.split()[-2:] == ["5", "1000"]
    assert second.startswith("Ankle boot ") and len({len(header), len(first), len(second)}) == 1


def test_help_works_from_the_console_entry_point():
    result = subprocess.run([sys.executable, "-m", "cnnkit", "train", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and "--resume" in result.stdout and "--augment" in result.stdout


def test_predict_refuses_a_folder_and_a_zero_top_k(trained_run, tmp_path, capsys):
    out, _ = trained_run
    assert main(["predict", str(out), str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["predict", str(out), str(tmp_path), "--top-k", "0"]) == 2
    assert "--top-k must be at least 1, got 0" in capsys.readouterr().err


def test_train_help_shows_every_default_once():
    from cnnkit.cli import build_parser

    text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "(default: 0.0)" in text and "(default: None)" not in text
    flat = " ".join(text.split())
    # task-dependent defaults in the option's help
    assert "(default 10; 5 for segment, 3 for generate, 15 for detect)" in flat
    assert "(default 128; 32 for segment and detect, 64 for generate)" in flat  # derived from the tasks too
    # and every task's own defaults, read from the tasks, after the options (without options the CLI has not)
    from cnnkit.training.tasks import TASKS

    epilog = flat[flat.index("Task defaults"):]
    for name in ("segment", "detect", "generate"):
        assert f"{name}: model {TASKS[name].defaults['model']}," in epilog
    assert "batch-size 64, epochs 3" in epilog and "eval-batch-size" not in epilog
    assert "epochs 15, data-args {\"train_scenes\": 60000}, ema 0.999" in epilog
    assert ("for segment '{\"train_scenes\": 100000}', for detect '{\"train_scenes\": 60000}', with their default "
            "models" in flat)  # --data-args, from the tasks
    assert ("(default {}; for segment '{\"base_channels\": 16, \"depth\": 4}' with its default model)" in flat)
    assert "(default {}; for segment '{\"dice\": 1.0}')" in flat  # the loss is the task's, whatever the model
    assert "0: none (default 0.0; 0.999 for segment and detect)" in flat


def test_gradcheck_of_a_trained_run(trained_run, capsys):
    out, _ = trained_run
    assert main(["gradcheck", str(out), "--coords", "2", "--eval"]) == 0
    text = capsys.readouterr().out
    assert "11 of 11 gradients agree with finite differences (eval mode, batch of 2, input 1×28×28)" in text
