"""A run's history: one row per epoch, written as JSON and CSV after every epoch (the CSV has the plain numbers;
nested values, the gradient-flow records, are in the JSON only)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from cnnkit.serialization import atomic_write_text

# the columns measured by the clock: a resumed or repeated run reproduces every other column exactly
TIMING_COLUMNS = ("seconds", "eval_seconds", "images_per_second")


def write_history(run_dir: str | os.PathLike, rows: list[dict[str, Any]]) -> None:
    """history.json (a list of rows) and history.csv (one line per epoch), both written atomically."""
    run_dir = Path(run_dir)
    atomic_write_text(run_dir / "history.json", json.dumps(rows, indent=2))
    columns = [k for k in rows[0] if _is_plain(rows[0][k])] if rows else []  # every row's keys in one order
    columns += sorted({k for row in rows for k, v in row.items() if _is_plain(v)} - set(columns))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(run_dir / "history.csv", buffer.getvalue())


def _is_plain(value: Any) -> bool:
    """A number or text: a CSV column. Lists and dicts (the gradient-flow records) live in history.json only."""
    return not isinstance(value, (list, dict))


def read_history(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    path = Path(run_dir) / "history.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no history.json: is it a cnnkit run folder?")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise ValueError(f"{path} is not valid JSON ({error}); the run's checkpoints hold the same history") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError(f"{path} is not a training history (a list of one object per epoch)")
    return rows
