"""YOLO's `data.yaml`, written as plain text and read by a small parser of just its keys (no PyYAML needed).

Written (no `path:`: the split folders are relative to the file, so a copied dataset stays whole):
    train: images/train
    val: images/val
    nc: 10
    names:
      0: "T-shirt/top"
Read: top-level `key: value` lines (comments and blank lines skipped); scalars bare, "double-quoted" (JSON
escapes) or 'single-quoted'; `names` as an indented block of `i: name` or `- name` lines, or inline as
[a, b, ...] or {0: a, 1: b}. Indented lines under other keys (e.g. ultralytics' `download: |` scripts) are
skipped; a top-level line that is not `key: value` is refused with the file and line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnkit.data.errors import DatasetFormatError

KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")


def data_yaml_text(path: str | None, splits: dict[str, str], names: Sequence[str]) -> str:
    """The file's text; `path` None writes no `path:`, so the split folders are relative to the file's own folder
    (for cnnkit and ultralytics alike) and a copied dataset reads its own files."""
    lines = ["# written by cnnkit (YOLO data.yaml)"]
    lines += [f"path: {json.dumps(path)}"] if path is not None else ["# no path: the splits are relative to this file"]
    lines += [f"{split}: {folder}" for split, folder in splits.items()]
    lines += [f"nc: {len(names)}", "names:"]
    lines += [f"  {i}: {json.dumps(name)}" for i, name in enumerate(names)]
    return "\n".join(lines) + "\n"


def strip_comment(line: str) -> str:
    """The line without a trailing '# comment' (a '#' inside quotes stays)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def scalar(text: str, where: str) -> str:
    text = text.strip()
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            raise DatasetFormatError(f"{where}: cannot read the quoted string {text}") from None
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise DatasetFormatError(f"{where}: unterminated quoted string {text}")
        return text[1:-1].replace("''", "'")
    return text


def split_flow(body: str) -> list[str]:
    """Comma-separated items of an inline [..] or {..}, commas inside quotes kept."""
    items, current, quote = [], "", None
    for char in body:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == ",":
            items.append(current)
            current = ""
            continue
        current += char
    if current.strip():
        items.append(current)
    return [item.strip() for item in items]


def inline_names(text: str, where: str) -> list[str]:
    if text.startswith("[") and text.endswith("]"):
        return [scalar(item, where) for item in split_flow(text[1:-1])]
    if text.startswith("{") and text.endswith("}"):
        pairs = [item.split(":", 1) for item in split_flow(text[1:-1])]
        if any(len(p) != 2 for p in pairs):
            raise DatasetFormatError(f"{where}: names {text} is not a list of 'index: name' pairs")
        return ordered_names({p[0].strip(): scalar(p[1], where) for p in pairs}, where)
    raise DatasetFormatError(f"{where}: names must be a list [..], a mapping {{..}} or an indented block")


def ordered_names(mapping: dict[str, str], where: str) -> list[str]:
    """Names of an 'index: name' mapping, which must number 0..n-1."""
    try:
        indexed = {int(k): v for k, v in mapping.items()}
    except ValueError:
        raise DatasetFormatError(f"{where}: names keys must be class indices 0, 1, ...") from None
    if sorted(indexed) != list(range(len(indexed))):
        raise DatasetFormatError(f"{where}: names keys must be 0..{len(indexed) - 1}, got {sorted(indexed)}")
    return [indexed[i] for i in range(len(indexed))]


def block_names(lines: list[tuple[int, str]], file: Path) -> list[str]:
    """Names from indented '- name' or 'i: name' lines."""
    listed: list[str] = []
    mapped: dict[str, str] = {}
    for number, line in lines:
        body, where = line.strip(), f"{file}:{number}"
        if body.startswith("- "):
            listed.append(scalar(body[2:], where))
        elif ":" in body:
            key, value = body.split(":", 1)
            mapped[key.strip()] = scalar(value, where)
        else:
            raise DatasetFormatError(f"{where}: expected '- name' or 'index: name' under names, got {body!r}")
    if listed and mapped:
        raise DatasetFormatError(f"{file}: names mixes '- name' and 'index: name' lines")
    return listed or ordered_names(mapped, str(file))


def parse_data_yaml(file: str | os.PathLike) -> dict[str, Any]:
    """{"path", "train", "val", "test", "nc", "names", ...} as written by YOLO tools (only what cnnkit needs)."""
    file = Path(file)
    try:
        raw = file.read_bytes().decode("utf-8-sig").splitlines()  # a byte-order mark is dropped
    except FileNotFoundError:
        raise DatasetFormatError(f"{file}: file not found") from None
    except UnicodeDecodeError as error:
        raise DatasetFormatError(f"{file}: not UTF-8 text (byte {error.start}: {error.reason})") from None
    data: dict[str, Any] = {}
    pending: list[tuple[int, str]] = []
    block_key = None
    for number, line in enumerate(raw, start=1):
        line = strip_comment(line)
        if not line.strip():
            continue
        if line[0].isspace():
            if block_key == "names":
                pending.append((number, line))
            continue  # the body of a key cnnkit does not use (e.g. ultralytics' `download: |` scripts)
        match = KEY_LINE.match(line)
        if match is None:
            raise DatasetFormatError(f"{file}:{number}: expected 'key: value', got {line!r}")
        key, value = match.group(1), match.group(2).strip()
        block_key = key if not value else None
        if key == "names" and value:
            data["names"] = inline_names(value, f"{file}:{number}")
        elif value:
            data[key] = scalar(value, f"{file}:{number}")
    if pending:
        data["names"] = block_names(pending, file)
    if "names" not in data:
        raise DatasetFormatError(f"{file}: lacks 'names' (the class names)")
    if "nc" in data and str(data["nc"]) != str(len(data["names"])):
        raise DatasetFormatError(f"{file}: nc is {data['nc']} but {len(data['names'])} names are listed")
    return data
