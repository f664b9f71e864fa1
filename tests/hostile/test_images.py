"""Image files: 16-bit PNGs scaled (not saturated), mixed sizes and colour modes, decompression bombs."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnnkit.data import DatasetFormatError, ImageFolder
from cnnkit.data.formats.images import load_image
from cnnkit.data.pixels import unit_pixels
from cnnkit.training.datasets import DataInfo
from cnnkit.training.restore import prepare_image
from tests.hostile.helpers import GiB, one_line_refusal, refused, run_cli

CLASSES = ("ants", "bees")


def png_header_only(path, width: int, height: int) -> None:
    """A PNG that declares width × height grey pixels but holds one row: a bomb for a reader that trusts it."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(width + 1)))
                     + chunk(b"IEND", b""))


def sixteen_bit(rng, shape=(12, 12)) -> np.ndarray:
    return rng.integers(0, 65536, shape).astype(np.uint16)


def grey_folder(root, rng, size=(28, 28), n=4) -> None:
    for split in ("train", "test"):
        for c in CLASSES:
            (root / split / c).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, size).astype(np.uint8)).save(root / split / c / f"{i}.png")


def _train(root, out):
    return ["train", "--dataset", "folder", "--data-dir", root, "--model", "lenet5_relu", "--epochs", "1",
            "--batch-size", "4", "--out", out, "--quiet"]


# ------------------------------------------------------------------------------------------------ 16-bit
def test_16_bit_pngs_are_scaled_by_65535_in_an_image_folder(tmp_path, rng):
    values = sixteen_bit(rng)
    (tmp_path / "a").mkdir()
    path = tmp_path / "a" / "x.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as reopened:
        assert reopened.mode == "I;16"
    folder = ImageFolder(tmp_path)
    loaded = folder[0][0]
    assert folder.mode == "L" and loaded.shape == (1, 12, 12) and loaded.dtype == np.float32
    np.testing.assert_allclose(loaded[0], values / 65535, atol=1e-6)
    assert abs(loaded.mean() - values.mean() / 65535) < 1e-4  # ~0.49, not the saturated ~1.0


def test_mode_i_images_are_scaled_by_65535_too(rng):
    values = sixteen_bit(rng)
    picture = Image.fromarray(values.astype(np.int32))  # mode "I": how older Pillows open 16-bit PNGs
    assert picture.mode == "I"
    np.testing.assert_allclose(unit_pixels(picture, "L")[..., 0], values / 65535, atol=1e-6)


def test_16_bit_images_are_scaled_in_the_format_readers_and_as_rgb(tmp_path, rng):
    values = sixteen_bit(rng)
    Image.fromarray(values).save(tmp_path / "x.png")
    np.testing.assert_allclose(load_image(tmp_path / "x.png")[0], values / 65535, atol=1e-6)
    for name in ("c", "g"):
        (tmp_path / "folder" / name).mkdir(parents=True)
    Image.fromarray(rng.integers(0, 256, (12, 12, 3)).astype(np.uint8)).save(tmp_path / "folder" / "c" / "y.png")
    Image.fromarray(values).save(tmp_path / "folder" / "g" / "x.png")
    rgb = ImageFolder(tmp_path / "folder")
    assert rgb.mode == "RGB"  # a colour image among them: all read as RGB
    image = rgb[1][0]
    assert image.shape == (3, 12, 12)
    for channel in image:
        np.testing.assert_allclose(channel, values / 65535, atol=1e-6)


def test_predict_prepares_a_16_bit_image_like_its_8_bit_version(tmp_path, rng):
    values = sixteen_bit(rng, (28, 28))
    Image.fromarray(values).save(tmp_path / "deep.png")
    Image.fromarray((values >> 8).astype(np.uint8)).save(tmp_path / "flat.png")
    info = DataInfo("folder", list(CLASSES), (1, 28, 28), (0.5,), (0.25,))
    deep, flat = prepare_image(tmp_path / "deep.png", info), prepare_image(tmp_path / "flat.png", info)
    assert np.abs(deep - flat).max() <= (1 / 255) / 0.25 + 1e-5  # agree to one 8-bit step
    resized = DataInfo("folder", list(CLASSES), (3, 14, 14), (0.5,) * 3, (0.25,) * 3)
    # resized: the 8-bit image is also rounded to 8 bits after the filter, half a step more
    assert np.abs(prepare_image(tmp_path / "deep.png", resized)
                  - prepare_image(tmp_path / "flat.png", resized)).max() <= (1.5 / 255) / 0.25 + 1e-5


# ------------------------------------------------------------------------------------------------ sizes and modes
def test_mixed_sizes_are_refused_naming_the_file(tmp_path, rng, capsys):
    grey_folder(tmp_path / "data", rng)
    odd = tmp_path / "data" / "train" / "bees" / "odd.png"
    Image.fromarray(np.zeros((20, 16), np.uint8)).save(odd)
    refused(_train(tmp_path / "data", tmp_path / "run"), capsys, str(odd), "16×20", "28×28")
    assert not (tmp_path / "run").exists()


def test_a_test_split_of_another_size_is_refused_naming_the_file(tmp_path, rng, capsys):
    grey_folder(tmp_path / "data", rng)
    odd = tmp_path / "data" / "test" / "ants" / "0.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(odd)
    refused(_train(tmp_path / "data", tmp_path / "run"), capsys, str(odd))


def test_colour_and_cmyk_among_grey_are_converted_to_the_training_mode(tmp_path, rng, capsys):
    grey_folder(tmp_path / "data", rng)
    test_bees = tmp_path / "data" / "test" / "bees"
    Image.fromarray(rng.integers(0, 256, (28, 28, 3)).astype(np.uint8)).save(test_bees / "colour.png")
    Image.fromarray(rng.integers(0, 256, (28, 28, 3)).astype(np.uint8)).convert("CMYK").save(test_bees / "cmyk.jpg")
    assert main_ok(_train(tmp_path / "data", tmp_path / "run"))
    config = json.loads((tmp_path / "run" / "last.json").read_text())
    assert config["data"]["input_shape"] == [1, 28, 28]
    test = ImageFolder(tmp_path / "data" / "test", mode="L")
    assert all(test[i][0].shape == (1, 28, 28) for i in range(len(test)))


def main_ok(argv) -> bool:
    from cnnkit.cli import main

    return main([str(a) for a in argv]) == 0


# ------------------------------------------------------------------------------------------------ bombs
@pytest.mark.parametrize("side", [10_000, 100_000])  # 10^8 pixels: Pillow's warning; 10^10: its error
def test_a_png_bomb_is_refused_naming_the_file(tmp_path, side):
    (tmp_path / "a").mkdir()
    png_header_only(tmp_path / "a" / "bomb.png", side, side)
    with pytest.raises(DatasetFormatError, match=r"a/bomb.png is refused as a possible decompression bomb"):
        ImageFolder(tmp_path)
    with pytest.raises(DatasetFormatError, match=r"bomb.png is refused as a possible decompression bomb"):
        load_image(tmp_path / "a" / "bomb.png")


def test_the_cli_refuses_a_png_bomb_in_one_line_under_a_memory_limit(tmp_path, rng):
    grey_folder(tmp_path / "data", rng, n=2)
    bomb = tmp_path / "data" / "train" / "ants" / "bomb.png"
    png_header_only(bomb, 60_000, 60_000)
    result = run_cli(_train(tmp_path / "data", tmp_path / "run"), memory=1 * GiB, timeout=120)
    one_line_refusal(result, str(bomb), "decompression bomb")
    assert not (tmp_path / "run").exists()


def test_predict_refuses_a_png_bomb_and_a_truncated_png_naming_them(tmp_path, rng):
    info = DataInfo("folder", list(CLASSES), (1, 28, 28), (0.5,), (0.25,))
    png_header_only(tmp_path / "bomb.png", 50_000, 50_000)
    with pytest.raises(DatasetFormatError, match="bomb.png"):
        prepare_image(tmp_path / "bomb.png", info)
    Image.fromarray(rng.integers(0, 256, (64, 64)).astype(np.uint8)).save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:200])
    with pytest.raises(DatasetFormatError, match="cut.png"):
        prepare_image(tmp_path / "cut.png", info)
