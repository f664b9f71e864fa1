"""--data-dir for the scene tasks (segment, detect): the folder is used or refused, never skipped.

--data-dir means either meaning a user may have in mind: a folder holding Fashion-MNIST (the scenes are made from
it and cached in DIR/fashion-scenes-<seed>), a folder holding that scene cache, or the cache folder itself. A
folder that does not exist, or holds neither the scenes nor Fashion-MNIST, is refused naming it, even when a copy
elsewhere (here $CNNKIT_DATA) would be found; the run records the folder the scenes were read from.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cnnkit.cli import main
from cnnkit.data.locate import dataset_folder
from cnnkit.data.scenes import FashionScenes
from cnnkit.training.run import RunConfig
from cnnkit.training.tasks import get_task
from tests.hostile.helpers import refused
from tests.training.tiny_data import write_tiny_fashion

TINY = {"num_scenes": 24, "val_items": 60}
MODEL_ARGS = {"segment": '{"base_channels": 4, "depth": 2}', "detect": '{"width": 4}'}


@pytest.fixture(scope="module")
def scene_data(tmp_path_factory) -> Path:
    """A tiny Fashion-MNIST with its train, val and test scenes cached beside it (fashion-scenes-0/)."""
    root = write_tiny_fashion(tmp_path_factory.mktemp("scene-source"), n_train=120, n_test=40)
    for split in ("train", "val", "test"):
        FashionScenes(root=root, split=split, num_scenes=TINY["num_scenes"] if split == "train" else 2,
                      val_items=TINY["val_items"])
    return root


@pytest.fixture
def copy_elsewhere(scene_data, tmp_path, monkeypatch) -> Path:
    """A full copy under $CNNKIT_DATA, which the usual search would find."""
    env = tmp_path / "env"
    shutil.copytree(scene_data, env / "fashion-mnist")
    shutil.copytree(scene_data / "fashion-scenes-0", env / "fashion-scenes-0")
    monkeypatch.setenv("CNNKIT_DATA", str(env))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return env


def _train(task: str, data_dir, out) -> list:
    return ["train", "--task", task, "--data-dir", data_dir, "--data-args", json.dumps(TINY), "--model-args",
            MODEL_ARGS[task], "--epochs", "1", "--batch-size", "8", "--out", out, "--quiet"]


@pytest.mark.parametrize("task", ["segment", "detect"])
def test_a_data_dir_that_does_not_exist_is_refused_and_not_created(task, copy_elsewhere, tmp_path, capsys):
    nowhere = tmp_path / "nowhere"
    refused(_train(task, nowhere, tmp_path / "run"), capsys, f"--data-dir {nowhere}", "does not exist")
    assert not nowhere.exists() and not (tmp_path / "run").exists()


@pytest.mark.parametrize("task", ["segment", "detect"])
def test_a_data_dir_without_scenes_or_fashion_mnist_is_refused_not_replaced(task, copy_elsewhere, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(_train(task, empty, tmp_path / "run"), capsys, f"--data-dir {empty}", "Fashion-MNIST",
            str(copy_elsewhere / "fashion-mnist"), "not used")
    assert list(empty.iterdir()) == [] and not (tmp_path / "run").exists()  # nothing written into it either


def test_scenes_made_with_other_settings_are_not_a_reason_to_look_elsewhere(scene_data, copy_elsewhere, tmp_path,
                                                                            capsys):
    only_cache = tmp_path / "only-cache"
    shutil.copytree(scene_data / "fashion-scenes-0", only_cache / "fashion-scenes-0")
    argv = _train("segment", only_cache, tmp_path / "run")
    argv[argv.index("--data-args") + 1] = json.dumps({**TINY, "val_items": 50})  # another hold-out: not cached
    refused(argv, capsys, f"--data-dir {only_cache}", "train scenes", "Fashion-MNIST")


def _loaded_from(task: str, data_dir) -> str | None:
    config = RunConfig.for_task(task, data_dir=None if data_dir is None else str(data_dir), data_args=dict(TINY))
    train_set, _, _ = get_task(task).load_data(config)
    return dataset_folder(train_set)


@pytest.mark.parametrize("task", ["segment", "detect"])
@pytest.mark.parametrize("layout", ["fashion-mnist", "scene-cache-parent", "scene-cache-itself"])
def test_each_meaning_of_data_dir_is_used_and_recorded(task, layout, scene_data, copy_elsewhere, tmp_path):
    if layout == "fashion-mnist":  # the Fashion-MNIST files alone: the scenes are made and cached inside it
        given = tmp_path / "fm"
        shutil.copytree(scene_data, given, ignore=shutil.ignore_patterns("fashion-scenes-*"))
        cache = given / "fashion-scenes-0"
    elif layout == "scene-cache-parent":  # no Fashion-MNIST, only the cached scenes
        given = tmp_path / "scenes"
        shutil.copytree(scene_data / "fashion-scenes-0", given / "fashion-scenes-0")
        cache = given / "fashion-scenes-0"
    else:
        given = cache = tmp_path / "fashion-scenes-0"
        shutil.copytree(scene_data / "fashion-scenes-0", given)
    assert _loaded_from(task, given) == str(cache.resolve())
    assert (cache / "train.safetensors").is_file()


def test_without_data_dir_the_usual_cache_is_used_and_recorded(copy_elsewhere):
    assert _loaded_from("segment", None) == str((copy_elsewhere / "fashion-scenes-0").resolve())


@pytest.mark.slow
def test_a_scene_run_records_its_data_source_in_config_json(scene_data, copy_elsewhere, tmp_path):
    given = tmp_path / "scenes"
    shutil.copytree(scene_data / "fashion-scenes-0", given / "fashion-scenes-0")
    assert main([str(a) for a in _train("segment", given, tmp_path / "run")]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data_dir"] == str(given)
    assert config["data_source"] == str((given / "fashion-scenes-0").resolve())


@pytest.mark.parametrize("loss_args, names", [
    ({"dice": float("nan")}, ["dice", "finite"]), ({"dice": float("inf")}, ["dice", "finite"]),
    ({"class_weights": [1.0] * 10 + [float("nan")]}, ["class_weights", "finite"]),
    ({"class_weights": [1.0] * 10 + [float("inf")]}, ["class_weights", "finite"]),
    ({"class_weights": [1.0] * 10 + ["x"]}, ["class_weights"]),
    ({"class_weights": [1.0] * 10 + [True]}, ["class_weights"]),
])
def test_non_finite_loss_args_are_refused_naming_them(scene_data, loss_args, names):
    from cnnkit.training.tasks.segmentation import build_loss

    config = RunConfig.for_task("segment", data_dir=str(scene_data), data_args=dict(TINY), loss_args=loss_args)
    with pytest.raises(ValueError, match="--loss-args") as raised:
        build_loss(config)
    for name in names:
        assert name in str(raised.value)
