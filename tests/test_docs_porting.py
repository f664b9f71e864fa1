"""The Python code blocks of docs/porting.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "porting.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_block_runs(index, capsys):
    exec(compile(BLOCKS[index], f"{PAGE.name}[{index}]", "exec"), {"__name__": "porting_doc"})
    if "backward()" in BLOCKS[index] and "except RuntimeError" in BLOCKS[index]:
        assert "modified by an inplace operation" in capsys.readouterr().out
