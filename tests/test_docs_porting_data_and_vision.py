"""The Python code blocks of docs/porting-data-and-vision.md run as written, printing what their comments say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "porting-data-and-vision.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


def promised_outputs(block: str) -> list[str]:
    """The `# ...` comments after print(...) calls: what each printed line must contain."""
    return [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.*)$", block, re.M)]


def test_the_page_has_blocks():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_block_runs_and_prints_what_it_says(index, capsys, tmp_path, monkeypatch):
    fashion = Path("/usr/share/datasets/fashion-mnist")
    if "FashionMNIST" in BLOCKS[index] and not fashion.is_dir():
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"{PAGE.name}[{index}]", "exec"), {"__name__": "porting_doc"})
    printed = capsys.readouterr().out.splitlines()
    promises = promised_outputs(BLOCKS[index])
    assert len(printed) == len(promises)
    for line, promise in zip(printed, promises, strict=True):
        assert promise.split(" = ")[-1] in line, f"printed {line!r}, the page says {promise!r}"  # "80 // 16 = 5"
