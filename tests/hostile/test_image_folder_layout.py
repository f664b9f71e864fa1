"""Image folders laid out to trap a reader: a link that loops (os.walk would list the same images again at every
level, silently multiplying them), a class folder whose name is not UTF-8 (a class name is stored as text)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from cnnkit.data import ImageFolder
from cnnkit.data.errors import DatasetFormatError
from tests.hostile.helpers import refused


def _folder(root, classes=(b"a", b"b"), n: int = 2):
    for split in (b"train", b"test"):
        for name in classes:
            folder = os.path.join(os.fsencode(root), split, name)
            os.makedirs(folder)
            for i in range(n):
                Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(os.path.join(folder, b"%d.png" % i))
    return root


@pytest.mark.parametrize("target", ["..", ".", "../.."])
def test_a_link_that_loops_is_refused_naming_it(tmp_path, target):
    root = _folder(tmp_path / "data")
    os.symlink(target, root / "train" / "a" / "loop")
    with pytest.raises(DatasetFormatError, match=r"a/loop.* again, through a link that loops"):
        ImageFolder(root / "train")


def test_the_cli_refuses_a_looping_folder_in_one_line(tmp_path, capsys):
    root = _folder(tmp_path / "data")
    os.symlink("..", root / "train" / "b" / "up")
    refused(["train", "--dataset", "folder", "--data-dir", root, "--model", "lenet5", "--epochs", "1", "--out",
             tmp_path / "run", "--quiet"], capsys, str(root / "train" / "b" / "up"), "loops")
    assert not (tmp_path / "run").exists()


def test_links_that_do_not_loop_are_followed_once(tmp_path):
    root = _folder(tmp_path / "data")
    extra = tmp_path / "more"
    extra.mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(extra / "x.png")
    os.symlink(extra, root / "train" / "a" / "more")
    data = ImageFolder(root / "train")
    assert [os.path.relpath(p, root / "train") for p, _ in data.samples] == [
        "a/0.png", "a/1.png", "a/more/x.png", "b/0.png", "b/1.png"]


def test_a_class_folder_not_named_in_utf8_is_refused(tmp_path, capsys):
    root = _folder(tmp_path / "data", classes=(b"a", b"b\xff"))
    with pytest.raises(DatasetFormatError, match=r"b\\xff.*not named in UTF-8"):
        ImageFolder(root / "train")
    refused(["train", "--dataset", "folder", "--data-dir", root, "--model", "lenet5", "--epochs", "1", "--out",
             tmp_path / "run", "--quiet"], capsys, "not named in UTF-8", str(root / "train"))
