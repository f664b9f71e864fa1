"""ImageFolder over PNG/JPEG/BMP files in class sub-folders, as torchvision orders them; bad files named."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnnkit.data import DataLoader, DatasetFormatError, ImageFolder
from cnnkit.data.transforms import Resize


def save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)
    return array


@pytest.fixture
def tree(tmp_path, rng):
    """root/{bird,cat,dog}: RGB PNGs, a JPEG, a BMP, a grayscale PNG, a nested folder, a non-image .txt."""
    root = tmp_path / "images"
    arrays = {}
    arrays["cat/b.png"] = save(root / "cat" / "b.png", rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
    arrays["cat/a.PNG"] = save(root / "cat" / "a.PNG", rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
    arrays["dog/x.bmp"] = save(root / "dog" / "x.bmp", rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
    arrays["dog/sub/y.jpg"] = save(root / "dog" / "sub" / "y.jpg", np.full((6, 5, 3), 200, dtype=np.uint8))
    arrays["bird/g.png"] = save(root / "bird" / "g.png", rng.integers(0, 256, (6, 5), dtype=np.uint8))
    (root / "dog" / "notes.txt").write_text("not an image")
    return root, arrays


def test_classes_samples_and_order(tree):
    root, _ = tree
    ds = ImageFolder(root)
    assert ds.classes == ["bird", "cat", "dog"]
    assert ds.class_to_idx == {"bird": 0, "cat": 1, "dog": 2}
    names = [(p[len(str(root)) + 1:], t) for p, t in ds.samples]
    # torchvision walks sorted(os.walk(...)): a folder's own files come before its sub-folders'
    assert names == [("bird/g.png", 0), ("cat/a.PNG", 1), ("cat/b.png", 1), ("dog/x.bmp", 2), ("dog/sub/y.jpg", 2)]
    assert ds.targets.tolist() == [0, 1, 1, 2, 2] and len(ds) == 5


def test_mixed_folder_is_read_as_rgb(tree):
    root, arrays = tree
    ds = ImageFolder(root)
    assert ds.mode == "RGB"
    image, label = ds[2]  # cat/b.png
    assert image.shape == (3, 6, 5) and image.dtype == np.float32 and label == 1
    np.testing.assert_array_equal(image, arrays["cat/b.png"].transpose(2, 0, 1) / np.float32(255))
    gray, _ = ds[0]  # the grayscale PNG, replicated to 3 channels
    np.testing.assert_array_equal(gray, np.repeat(arrays["bird/g.png"][None], 3, axis=0) / np.float32(255))
    bmp, _ = ds[3]
    np.testing.assert_array_equal(bmp, arrays["dog/x.bmp"].transpose(2, 0, 1) / np.float32(255))
    jpeg, _ = ds[4]  # lossy, but a flat colour survives
    np.testing.assert_allclose(jpeg, 200 / 255, atol=2 / 255)


def test_all_grayscale_folder_is_read_as_l(tmp_path, rng):
    a = save(tmp_path / "zero" / "a.png", rng.integers(0, 256, (4, 4), dtype=np.uint8))
    save(tmp_path / "one" / "b.png", rng.integers(0, 256, (4, 4), dtype=np.uint8))
    ds = ImageFolder(tmp_path)
    assert ds.mode == "L"
    image, label = ds[1]
    assert image.shape == (1, 4, 4) and label == 1
    np.testing.assert_array_equal(image[0], a / np.float32(255))


def test_extensions_argument_filters(tree):
    root, _ = tree
    ds = ImageFolder(root, extensions=(".png", ".bmp"))
    assert [t for _, t in ds.samples] == [0, 1, 1, 2]


def test_non_image_with_image_extension_named(tree):
    root, _ = tree
    (root / "cat" / "broken.png").write_text("this is text, not a PNG")
    with pytest.raises(DatasetFormatError, match=r"ImageFolder: .*cat/broken.png is not a readable image"):
        ImageFolder(root)


def test_missing_root_and_empty_class(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ImageFolder: .*nowhere is not a folder"):
        ImageFolder(tmp_path / "nowhere")
    (tmp_path / "empty_root").mkdir()
    with pytest.raises(FileNotFoundError, match=r"has no class sub-folders"):
        ImageFolder(tmp_path / "empty_root")
    (tmp_path / "r" / "ghost").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no image with an extension in .* in the class folder\(s\) ghost"):
        ImageFolder(tmp_path / "r")


def test_different_sizes_refused_at_batching_naming_files(tmp_path, rng):
    save(tmp_path / "a" / "small.png", rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
    save(tmp_path / "b" / "big.png", rng.integers(0, 256, (8, 6, 3), dtype=np.uint8))
    ds = ImageFolder(tmp_path)
    with pytest.raises(ValueError, match=r"DataLoader: cannot stack images of different shapes.*a/small.png\) is "
                                         r"\(3, 4, 4\) but .*b/big.png\) is \(3, 8, 6\).*Resize"):
        next(iter(DataLoader(ds, batch_size=2)))
    resized = ImageFolder(tmp_path, transform=Resize((5, 5)))
    images, labels = next(iter(DataLoader(resized, batch_size=2)))
    assert images.shape == (2, 3, 5, 5) and images.dtype == np.float32 and labels.tolist() == [0, 1]
