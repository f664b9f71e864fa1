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
