"""Pascal VOC annotation XML: non-finite or non-numeric sizes and boxes, refused naming the file and element."""

from __future__ import annotations

import pytest

from cnnkit.data import DatasetFormatError
from cnnkit.data.formats.voc import parse_voc_xml

CLASSES = ["background", "shirt"]


def xml(tmp_path, width="30", height="20", box=("2", "3", "10", "12")):
    path = tmp_path / "a.xml"
    xmin, ymin, xmax, ymax = box
    path.write_text(f"<annotation><size><width>{width}</width><height>{height}</height><depth>1</depth></size>"
                    f"<object><name>shirt</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax>"
                    f"<ymax>{ymax}</ymax></bndbox></object></annotation>")
    return path


@pytest.mark.parametrize("width, height", [("nan", "20"), ("30", "inf"), ("-inf", "20"), ("1e999", "20"),
                                           ("thirty", "20"), ("0", "20")])
def test_bad_image_size_is_refused_naming_file_and_element(tmp_path, width, height):
    path = xml(tmp_path, width, height)
    with pytest.raises(DatasetFormatError, match=rf"{path}: the annotation has <size"):
        parse_voc_xml(path, CLASSES)


@pytest.mark.parametrize("box", [("nan", "3", "10", "12"), ("2", "3", "inf", "12"), ("2", "3", "10", "x")])
def test_bad_box_is_refused_naming_file_and_object(tmp_path, box):
    path = xml(tmp_path, box=box)
    with pytest.raises(DatasetFormatError, match=rf"{path}: object 0 has <bndbox/"):
        parse_voc_xml(path, CLASSES)


def test_a_good_annotation_still_reads(tmp_path):
    parsed = parse_voc_xml(xml(tmp_path), CLASSES)
    assert parsed["boxes"].tolist() == [[1, 2, 10, 12]] and parsed["size"] == (30, 20)


# ------------------------------------------------------------------------------- list files (image sets, labelmap)
def voc_folder(tmp_path, image_set: bytes = b"a\n", labelmap: bytes | None = None):
    (tmp_path / "ImageSets" / "Main").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Main" / "train.txt").write_bytes(image_set)
    if labelmap is not None:
        (tmp_path / "labelmap.txt").write_bytes(labelmap)
    return tmp_path


def test_a_labelmap_not_in_utf8_is_refused_naming_it(tmp_path):
    from cnnkit.data.formats.voc import VOCDetection

    root = voc_folder(tmp_path, labelmap=b"background:0,0,0::\nshirt\xff:1,2,3::\n")
    with pytest.raises(DatasetFormatError, match=rf"{root / 'labelmap.txt'}: not UTF-8 text .* class names"):
        VOCDetection(root, image_set="train")


def test_an_image_set_not_in_utf8_is_refused_naming_it(tmp_path):
    from cnnkit.data.formats.voc import VOCDetection

    root = voc_folder(tmp_path, image_set=b"a\n\xfe\xfeb\n")
    with pytest.raises(DatasetFormatError, match=r"train.txt: not UTF-8 text .* image names"):
        VOCDetection(root, image_set="train")


@pytest.mark.parametrize("name", ["../../../etc/passwd", "/etc/passwd", "..", "sub\\name"])
def test_an_image_name_that_is_a_path_is_refused(tmp_path, name):
    from cnnkit.data.formats.voc import VOCDetection

    root = voc_folder(tmp_path, image_set=f"a\n{name}\n".encode())
    with pytest.raises(DatasetFormatError, match=r"train.txt: image name .* \(entry 2\) is a path"):
        VOCDetection(root, image_set="train")


def test_a_byte_order_mark_in_a_list_is_dropped(tmp_path):
    from cnnkit.data.formats.voc import VOCDetection

    bom = b"\xef\xbb\xbf"
    root = voc_folder(tmp_path, image_set=bom + b"a\nb\n", labelmap=bom + b"background:0,0,0::\nshirt:1,2,3::\n")
    data = VOCDetection(root, image_set="train")
    assert data.names == ["a", "b"] and data.classes == ["background", "shirt"]
