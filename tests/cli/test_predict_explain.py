"""`cnnkit predict --explain`: IMAGE.cam.png, the image with the predicted class's Grad-CAM over it."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from cnnkit.cli import main
from cnnkit.metrics.generative import SHIPPED_FEATURE_WEIGHTS
from tests.training.tiny_data import make_images
from tests.viz.png import read_png


def test_explain_writes_the_cam_beside_the_image_and_in_out_dir(tmp_path, capsys) -> None:
    image = tmp_path / "boot.png"
    Image.fromarray(make_images(np.array([9]), np.random.default_rng(0))[0]).save(image)
    assert main(["predict", str(SHIPPED_FEATURE_WEIGHTS), str(image), "--explain"]) == 0
    out = capsys.readouterr().out
    cam = tmp_path / "boot.png.cam.png"
    assert f"Grad-CAM: {cam}" in out
    pixels = read_png(cam, (320, 350))
    assert (pixels[..., 0] - pixels[..., 2]).max() > 100  # the heat map's warm colours are there

    assert main(["predict", str(SHIPPED_FEATURE_WEIGHTS), str(image), "--explain", "--json", "--cam-layer",
                 "features.9", "--out-dir", str(tmp_path / "cams")]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert result["explanation"] == str(tmp_path / "cams" / "boot.png.cam.png")
    read_png(tmp_path / "cams" / "boot.png.cam.png", (320, 350))


def test_explain_names_a_layer_that_does_not_exist(tmp_path, capsys) -> None:
    image = tmp_path / "x.png"
    Image.fromarray(make_images(np.array([1]), np.random.default_rng(0))[0]).save(image)
    assert main(["predict", str(SHIPPED_FEATURE_WEIGHTS), str(image), "--explain", "--cam-layer", "conv9"]) == 2
    assert "has no layer 'conv9'" in capsys.readouterr().err
