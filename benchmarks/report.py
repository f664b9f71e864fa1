"""Results as plain data, the tables printed at the end of a run, and the JSON file of the same figures.

ratio = PyTorch time / cnnkit time (1.0: as fast as PyTorch; above 1: faster). Memory ratio = PyTorch
peak / cnnkit peak. The scaling ratio = (time per image at the largest batch) / (time per image at the
smallest): 1.0 means the cost is linear in the batch size. A `Target` marks each ratio ✓ or ✗.
Pure Python: no NumPy, so that importing it cannot fix the BLAS thread count too early.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.timing import Timing

MIB = 1024 * 1024
DASH = "—"


@dataclass(frozen=True)
class Target:
    """A bound on a ratio: `Target(">=", 0.7)` is met by 0.7 and above."""

    op: str  # ">=" or "<="
    value: float

    def __post_init__(self) -> None:
        if self.op not in (">=", "<="):
            raise ValueError(f"Target: op must be '>=' or '<=', got {self.op!r}")

    def met(self, ratio: float | None) -> bool | None:
        if ratio is None:
            return None
        return ratio >= self.value if self.op == ">=" else ratio <= self.value

    def __str__(self) -> str:
        return f"{'≥' if self.op == '>=' else '≤'}{self.value:g}"

    def mark(self, ratio: float | None) -> str:
        """"≥0.7 ✓", "≥0.7 ✗", or "≥0.7 ?" when there is no ratio to judge."""
        met = self.met(ratio)
        return f"{self} {'?' if met is None else '✓' if met else '✗'}"

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "value": self.value}


def speed_ratio(cnnkit_seconds: float | None, torch_seconds: float | None) -> float | None:
    """PyTorch time / cnnkit time: above 1 when cnnkit is faster; None when either time is missing."""
    if cnnkit_seconds is None or torch_seconds is None or cnnkit_seconds <= 0:
        return None
    return torch_seconds / cnnkit_seconds


@dataclass
class Result:
    """The timings of one workload (seconds per call) and what one call is worth."""

    name: str
    group: str
    images: int = 0
    flops: float = 0.0
    cnnkit: Timing | None = None
    torch: Timing | None = None
    target: Target | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return speed_ratio(_median(self.cnnkit), _median(self.torch))

    def images_per_s(self, timing: Timing | None) -> float | None:
        seconds = _median(timing)
        return self.images / seconds if seconds and self.images else None

    def gflops(self, timing: Timing | None) -> float | None:
        seconds = _median(timing)
        return self.flops / seconds / 1e9 if seconds and self.flops else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "group": self.group, "images_per_call": self.images, "flops_per_call": self.flops,
            "cnnkit": _timing_dict(self, self.cnnkit), "torch": _timing_dict(self, self.torch),
            "ratio": self.ratio, "target": self.target.as_dict() if self.target else None,
            "target_met": self.target.met(self.ratio) if self.target else None, "error": self.error,
            **self.extra,
        }


@dataclass
class MemoryResult:
    """Peak and after-import resident memory (bytes) of one training run per framework, each in its own process."""

    name: str
    steps: int
    batch: int
    cnnkit: dict[str, Any] | None = None  # {"baseline_bytes", "peak_bytes", ...} as the child reported it
    torch: dict[str, Any] | None = None
    target: Target | None = None
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        """PyTorch peak / cnnkit peak: above 1 when cnnkit needs less memory."""
        if not self.cnnkit or not self.torch or not self.cnnkit.get("peak_bytes"):
            return None
        return self.torch["peak_bytes"] / self.cnnkit["peak_bytes"]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "group": "memory", "steps": self.steps, "batch": self.batch,
                "cnnkit": self.cnnkit, "torch": self.torch, "ratio": self.ratio,
                "target": self.target.as_dict() if self.target else None,
                "target_met": self.target.met(self.ratio) if self.target else None, "error": self.error}


@dataclass
class ScalingRow:
    """Time per image at each batch size for one model and framework, and the last/first ratio."""

    model: str
    framework: str
    per_image: dict[int, float]  # batch → seconds per image
    target: Target | None = None

    @property
    def ratio(self) -> float | None:
        if len(self.per_image) < 2:
            return None
        batches = sorted(self.per_image)
        return self.per_image[batches[-1]] / self.per_image[batches[0]]

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "framework": self.framework,
                "seconds_per_image": {str(b): s for b, s in sorted(self.per_image.items())}, "ratio": self.ratio,
                "target": self.target.as_dict() if self.target else None,
                "target_met": self.target.met(self.ratio) if self.target else None}


def scaling_rows(results: Sequence[Result], target: Target | None = None) -> list[ScalingRow]:
    """Group the scaling results (extra "model" and "batch") into one row per model and framework."""
    rows: dict[tuple[str, str], ScalingRow] = {}
    for r in results:
        if r.group != "scaling" or r.error:
            continue
        for framework, timing in (("cnnkit", r.cnnkit), ("PyTorch", r.torch)):
            if timing is None:
                continue
            key = (r.extra["model"], framework)
            row = rows.setdefault(key, ScalingRow(key[0], framework, {}, target if framework == "cnnkit" else None))
            row.per_image[r.extra["batch"]] = timing.median / r.extra["batch"]
    return list(rows.values())


# ----------------------------------------------------------------------------------------------- formatting
def format_seconds(seconds: float | None) -> str:
    """3 significant figures in the natural unit: "812 µs", "4.56 ms", "1.23 s"."""
    if seconds is None:
        return DASH
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{_sig3(seconds / scale)} {unit}"
    return f"{_sig3(seconds / 1e-9)} ns"


def _sig3(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def format_number(x: float | None, digits: int = 2) -> str:
    if x is None:
        return DASH
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}f}"


def format_columns(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A text table: the first `left` columns left-aligned, the others right-aligned, two spaces apart."""
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = "-" * len(line(["-" * w for w in widths]))
    return "\n".join([line(headers), rule] + [line(row) for row in rows])


TIMING_HEADERS = ("workload", "cnnkit", "PyTorch", "ratio", "target", "img/s", "GFLOP/s", "PyTorch GFLOP/s")
TORCH_ONLY = ("PyTorch", "ratio", "target", "PyTorch GFLOP/s")  # columns dropped when PyTorch did not run


def timing_row(r: Result, error_mark: str = "error") -> list[str]:
    """One table row (all columns); an errored workload shows `error_mark` in place of the figures."""
    if r.error:
        return [r.name, error_mark] + [""] * (len(TIMING_HEADERS) - 2)
    ratio = r.ratio
    return [r.name, format_seconds(_median(r.cnnkit)), format_seconds(_median(r.torch)), format_number(ratio),
            r.target.mark(ratio) if r.target else "", format_number(r.images_per_s(r.cnnkit), 0),
            format_number(r.gflops(r.cnnkit), 1), format_number(r.gflops(r.torch), 1)]


def format_timings(results: Sequence[Result]) -> str:
    """The main table, errors as numbered notes below it; without PyTorch its columns are left out."""
    errors = [r for r in results if r.error]
    marks = {id(r): f"error [{i}]" for i, r in enumerate(errors, 1)}
    rows = [timing_row(r, marks.get(id(r), "error")) for r in results]
    table = _drop_torch_columns(TIMING_HEADERS, rows, any(r.torch for r in results))
    return "\n".join([table] + [f"[{i}] {r.name}: {r.error}" for i, r in enumerate(errors, 1)])


def _drop_torch_columns(headers: Sequence[str], rows: Sequence[Sequence[str]], with_torch: bool,
                        torch_columns: Sequence[int] | None = None, left: int = 1) -> str:
    if with_torch:
        return format_columns(headers, rows, left)
    drop = set(torch_columns) if torch_columns is not None else {i for i, h in enumerate(headers) if h in TORCH_ONLY}
    keep = [i for i in range(len(headers)) if i not in drop]
    return format_columns([headers[i] for i in keep], [[row[i] for i in keep] for row in rows], left)


def format_scaling(rows: Sequence[ScalingRow]) -> str:
    batches = sorted({b for row in rows for b in row.per_image})
    span = f"b{batches[-1]}/b{batches[0]}" if batches else "ratio"
    headers = ["scaling (time per image)", "framework"] + [f"b{b}" for b in batches] + [span, "target"]
    body = [[f"{row.model} train", row.framework] + [format_seconds(row.per_image.get(b)) for b in batches]
            + [format_number(row.ratio), row.target.mark(row.ratio) if row.target else ""] for row in rows]
    return format_columns(headers, body, left=2)


MEMORY_HEADERS = ("memory (resident set)", "cnnkit peak", "after imports", "PyTorch peak", "after imports", "ratio",
                  "target")


def format_memory(results: Sequence[MemoryResult]) -> str:
    """Peak and after-import RSS per framework; without a PyTorch child its columns are left out."""
    body, errors = [], []
    for m in results:
        if m.error:
            errors.append(f"[{len(errors) + 1}] {m.name}: {m.error}")
            body.append([m.name, f"error [{len(errors)}]"] + [""] * (len(MEMORY_HEADERS) - 2))
            continue
        body.append([m.name, _mib(m.cnnkit, "peak_bytes"), _mib(m.cnnkit, "baseline_bytes"),
                     _mib(m.torch, "peak_bytes"), _mib(m.torch, "baseline_bytes"), format_number(m.ratio),
                     m.target.mark(m.ratio) if m.target else ""])
    table = _drop_torch_columns(MEMORY_HEADERS, body, any(m.torch for m in results), torch_columns=(3, 4, 5, 6))
    return "\n".join([table] + errors)


def _mib(child: dict[str, Any] | None, key: str) -> str:
    if not child or child.get(key) is None:
        return DASH
    return f"{child[key] / MIB:,.0f} MiB"


def format_report(results: Sequence[Result], memory: Sequence[MemoryResult], scaling: Sequence[ScalingRow],
                  notes: Sequence[str] = ()) -> str:
    """Every table that has rows, then the notes (torch absent, load warnings, ...)."""
    timed = [r for r in results if r.group != "scaling"]
    parts = []
    if timed:
        parts.append(format_timings(timed))
    if scaling:
        parts.append(format_scaling(scaling))
    if memory:
        parts.append(format_memory(memory))
    parts += list(notes)
    return "\n\n".join(parts)


# ----------------------------------------------------------------------------------------------- JSON
def to_json(meta: dict[str, Any], results: Sequence[Result], memory: Sequence[MemoryResult],
            scaling: Sequence[ScalingRow]) -> dict[str, Any]:
    return {"meta": meta, "results": [r.as_dict() for r in results], "scaling": [s.as_dict() for s in scaling],
            "memory": [m.as_dict() for m in memory]}


def write_json(path: str, data: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def _median(timing: Timing | None) -> float | None:
    return timing.median if timing is not None and timing.samples else None


def _timing_dict(r: Result, timing: Timing | None) -> dict[str, Any] | None:
    if timing is None or not timing.samples:
        return None
    return {**timing.as_dict(), "images_per_s": r.images_per_s(timing), "gflops": r.gflops(timing)}
