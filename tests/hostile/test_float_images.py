"""32-bit float images (Pillow mode F): Pillow's conversion clips them at 0–255, so an image of values in [0, 1]
became black and NaN became 0, silently. They are refused naming the file (predict, the format readers)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnnkit.data.errors import DatasetFormatError
from cnnkit.data.formats.images import load_image
from tests.hostile.helpers import refused


@pytest.fixture(params=[0.5, np.nan, 1000.0], ids=["unit-range", "nan", "large"])
def float_tiff(request, tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.full((28, 28), request.param, np.float32), mode="F").save(path)
    return path


def test_predict_refuses_a_float_image_naming_it(classifier_run, float_tiff, capsys):
    refused(["predict", classifier_run, float_tiff], capsys, str(float_tiff), "mode F", "8 or 16-bit")


def test_the_format_readers_refuse_it_naming_it(float_tiff):
    with pytest.raises(DatasetFormatError, match=f"{float_tiff}: 32-bit float pixels"):
        load_image(float_tiff)


def test_8_and_16_bit_images_still_read(tmp_path):
    Image.fromarray(np.full((4, 4), 128, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((4, 4), 32768, np.uint16)).save(tmp_path / "b.png")
    assert np.allclose(load_image(tmp_path / "a.png"), 128 / 255)
    assert np.allclose(load_image(tmp_path / "b.png"), 32768 / 65535)
