"""The code blocks of README.md and docs/*.md, read the way tests/docs/test_snippets.py runs them.

The rule (docs/internals.md, "Documentation that runs"): every ```python, ```bash and ```console block runs, in
page order, in one temporary folder per page; ```text and unlabelled blocks are displays and never run. An HTML
comment on the line just before a block's fence qualifies it:

    <!-- illustration: why -->   not run (needs root, a cluster, hours of CPU); the reason is for the page's editors
    <!-- slow -->                runs only with `pytest -m slow`; later blocks must not need its files
    <!-- tiny: OPTIONS -->       OPTIONS are appended to each `cnnkit train` line of the block (e.g. --epochs 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ("python", "bash", "console")
FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!--\s*(illustration|slow|tiny)\s*(?::\s*(.*?))?\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository, e.g. "docs/training.md"
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    marks: dict[str, str]

    @property
    def runs(self) -> bool:
        return self.language in RUN and "illustration" not in self.marks

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, with the marks of the comments just above its fence."""
    lines = page.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise ValueError(f"{page.name}:{i + 1}: a code block that never closes")
        marks, k = {}, i - 1
        while k >= 0 and MARK.match(lines[k]):
            kind, value = MARK.match(lines[k]).groups()
            marks[kind] = value or ""
            k -= 1
        found.append(Block(str(page.relative_to(ROOT)), i + 1, opening[1], "\n".join(lines[i + 1:end]) + "\n", marks))
        i = end + 1
    return found


def shell_script(block: Block) -> str:
    """A bash block as run: console prompts ($ ) removed, `tiny` options appended to each `cnnkit train` line."""
    out = []
    for line in block.code.splitlines():
        if block.language == "console":
            if not line.startswith("$ "):
                continue  # shown output
            line = line[2:]
        if "tiny" in block.marks and re.match(r"^\s*cnnkit train\b", line):
            code, _, comment = line.partition(" #")
            line = f"{code.rstrip()} {block.marks['tiny']}" + (f"  #{comment}" if comment else "")
        out.append(line)
    return "\n".join(out) + "\n"
