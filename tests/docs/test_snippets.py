"""Documentation that cannot rot: every runnable block of README.md and docs/*.md runs as written, in a temporary
folder per page with tiny data (the rule and the marks: tests/docs/snippets.py and docs/internals.md).

`cnnkit` in a bash block is this checkout's command (`python -m cnnkit` with the repository on PYTHONPATH), and
$CNNKIT_DATA holds a tiny Fashion-MNIST in the real file format, so `cnnkit train` finds data without a download.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.snippets import ROOT, Block, blocks, pages, shell_script
from tests.training.tiny_data import write_tiny_fashion

ALL = [block for page in pages() for block in blocks(page)]
TIMEOUT = 300


def _param(block: Block):
    marks = [pytest.mark.slow] if "slow" in block.marks else []
    return pytest.param(block, id=block.id, marks=marks)


@pytest.fixture(scope="module")
def environment(tmp_path_factory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("data")
    write_tiny_fashion(data / "fashion-mnist")
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "cnnkit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cnnkit "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ)
    env.update(CNNKIT_DATA=str(data), PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
               PATH=f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
               MPLBACKEND="Agg", OPENBLAS_NUM_THREADS=env.get("OPENBLAS_NUM_THREADS", "1"))
    return env


FOLDERS: dict[str, Path] = {}


@pytest.fixture
def page_folder(block, tmp_path_factory) -> Path:
    """One folder per page: a page's blocks run in order and may use the files earlier blocks made."""
    if block.page not in FOLDERS:
        FOLDERS[block.page] = tmp_path_factory.mktemp(Path(block.page).stem)
    return FOLDERS[block.page]


@pytest.mark.parametrize("block", [_param(b) for b in ALL if b.runs])
def test_snippet_runs(block: Block, page_folder: Path, environment: dict[str, str]):
    if block.language == "python":
        path = page_folder / f"snippet_{block.line}.py"
        path.write_text(block.code)
        command = [sys.executable, str(path)]
    else:
        path = page_folder / f"snippet_{block.line}.sh"
        path.write_text(shell_script(block))
        command = ["bash", "-eo", "pipefail", str(path)]
    result = subprocess.run(command, cwd=page_folder, env=environment, capture_output=True, text=True,
                            timeout=TIMEOUT, check=False)
    assert result.returncode == 0, (f"{block.id} failed (exit {result.returncode}):\n{block.code}\n"
                                    f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")


def test_every_page_has_a_block_that_runs_or_says_why_not():
    for page in pages():
        for block in blocks(page):
            if "illustration" in block.marks:
                assert block.marks["illustration"], f"{block.id}: an illustration says why it is not run"


def test_the_readme_test_command_is_the_one_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "pip install torch==2.13.0 -e '.[test,mpi]' && python -m pytest"
    assert command in readme and ci.rstrip().splitlines()[-1] == command


def test_the_marks_are_read():
    from tests.docs.snippets import MARK

    assert MARK.match("<!-- illustration: needs a cluster -->").groups() == ("illustration", "needs a cluster")
    assert MARK.match("<!-- slow -->").groups() == ("slow", None)
    tiny = Block("x.md", 1, "bash", "cnnkit train --model lenet5  # ten epochs\nls\n", {"tiny": "--epochs 1"})
    assert shell_script(tiny) == "cnnkit train --model lenet5 --epochs 1  # ten epochs\nls\n"
    console = Block("x.md", 1, "console", "$ cnnkit models\nname  input\n", {})
    assert shell_script(console) == "cnnkit models\n"


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    import re

    headings = re.findall(r"^#+ (.+)$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_and_anchor_exists():
    import re

    for page in pages():
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"\w+://", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: link to a missing file {target}"
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked), f"{page.name}: link to a missing heading {target}"
