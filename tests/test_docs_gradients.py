"""docs/gradients.md: every Python block runs as written (in a scratch folder, so no figure in docs/ changes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "gradients.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_page_has_its_python_blocks() -> None:
    assert len(BLOCKS) == 2


def test_the_gradient_check_example_runs_and_catches_the_bug(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[0], str(DOC), "exec"), {})
    assert "gradient of input 1 (1,) is wrong at index (0,)" in capsys.readouterr().out


@pytest.mark.slow
def test_the_grad_cam_snippet_writes_the_figure(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(BLOCKS[1], str(DOC), "exec"), {})
    except OSError as err:  # the snippet needs Fashion-MNIST on disk (or a network to fetch it)
        pytest.skip(f"Fashion-MNIST is not on this machine: {err}")
    assert (tmp_path / "gradcam-fashion-vgg.png").stat().st_size > 10_000
