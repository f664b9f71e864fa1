"""The report: ratios, targets, number formats, table layout (with and without PyTorch), scaling rows, JSON."""

from __future__ import annotations

import json

import pytest

from benchmarks.report import (
    MemoryResult,
    Result,
    ScalingRow,
    Target,
    format_columns,
    format_memory,
    format_number,
    format_report,
    format_seconds,
    format_timings,
    scaling_rows,
    speed_ratio,
    to_json,
    write_json,
)
from benchmarks.timing import Timing

MIB = 1024 * 1024
LENET_TARGET = Target(">=", 0.7)


def result(name="train lenet5 b128", ck=0.2, th=0.1, group="model", target=LENET_TARGET, **extra):
    return Result(name, group, images=128, flops=4e9, cnnkit=Timing([ck]) if ck else None,
                  torch=Timing([th]) if th else None, target=target, extra=extra)


def test_speed_ratio_is_torch_time_over_cnnkit_time():
    assert speed_ratio(0.2, 0.1) == pytest.approx(0.5)  # cnnkit twice as slow
    assert speed_ratio(0.1, 0.3) == pytest.approx(3.0)  # cnnkit three times as fast
    assert speed_ratio(0.1, None) is None and speed_ratio(None, 0.1) is None


def test_result_figures():
    r = result(ck=0.2, th=0.1)
    assert r.ratio == pytest.approx(0.5)
    assert r.images_per_s(r.cnnkit) == pytest.approx(640)
    assert r.gflops(r.cnnkit) == pytest.approx(20) and r.gflops(r.torch) == pytest.approx(40)
    assert result(th=None).ratio is None


@pytest.mark.parametrize(("target", "ratio", "mark"), [
    (Target(">=", 0.7), 0.7, "≥0.7 ✓"), (Target(">=", 0.7), 0.69, "≥0.7 ✗"), (Target("<=", 1.1), 1.05, "≤1.1 ✓"),
    (Target("<=", 1.1), 1.2, "≤1.1 ✗"), (Target(">=", 0.3), None, "≥0.3 ?"),
])
def test_target_marks(target, ratio, mark):
    assert target.mark(ratio) == mark


def test_target_rejects_unknown_comparison():
    with pytest.raises(ValueError, match="Target: op must be '>=' or '<=', got '>'"):
        Target(">", 1.0)


@pytest.mark.parametrize(("seconds", "text"), [
    (1.234, "1.23 s"), (0.0456, "45.6 ms"), (0.812e-3, "812 µs"), (3.21e-6, "3.21 µs"), (5e-8, "50.0 ns"),
    (None, "—"),
])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_format_number():
    assert (format_number(12345.6), format_number(0.456), format_number(None)) == ("12,346", "0.46", "—")


def test_columns_align_left_then_right():
    table = format_columns(("name", "a", "bb"), [["x", "1", "22"], ["longer", "333", "4"]])
    assert table.splitlines() == [
        "name      a  bb",
        "---------------",
        "x         1  22",
        "longer  333   4",
    ]


def test_timing_table_rows_and_error_notes():
    rows = [result(ck=0.2, th=0.1), result("infer lenet5 b1000", ck=0.05, th=0.1, target=None)]
    broken = Result("conv2d 3x3 fwd", "op", error="Mismatch: output: differ")
    text = format_timings(rows + [broken])
    lines = text.splitlines()
    assert lines[0].split() == ["workload", "cnnkit", "PyTorch", "ratio", "target", "img/s", "GFLOP/s", "PyTorch",
                                "GFLOP/s"]
    assert lines[2].split() == ["train", "lenet5", "b128", "200", "ms", "100", "ms", "0.50", "≥0.7", "✗", "640",
                                "20.0", "40.0"]
    assert lines[3].split()[7:9] == ["2.00", "2,560"]  # ratio, then images/s; no target
    assert lines[4].split() == ["conv2d", "3x3", "fwd", "error", "[1]"]
    assert lines[5] == "[1] conv2d 3x3 fwd: Mismatch: output: differ"


def test_timing_table_without_torch_drops_its_columns():
    text = format_timings([result(th=None)])
    header = text.splitlines()[0].split()
    assert header == ["workload", "cnnkit", "img/s", "GFLOP/s"]
    assert text.splitlines()[2].split() == ["train", "lenet5", "b128", "200", "ms", "640", "20.0"]


def test_scaling_rows_compute_time_per_image_and_the_span_ratio():
    results = [result(f"scaling lenet5 train b{b}", ck=t, th=b * 1e-4, group="scaling", target=None, model="lenet5",
                      batch=b) for b, t in ((32, 0.032), (64, 0.070), (256, 0.256 * 1.2))]
    rows = scaling_rows(results + [result()], Target("<=", 1.1))  # the model row is not a scaling row
    ours, theirs = rows
    assert (ours.framework, theirs.framework) == ("cnnkit", "PyTorch")
    assert ours.per_image == pytest.approx({32: 1e-3, 64: 0.070 / 64, 256: 1.2e-3})
    assert ours.ratio == pytest.approx(1.2) and ours.target.mark(ours.ratio) == "≤1.1 ✗"
    assert theirs.ratio == pytest.approx(1.0) and theirs.target is None
    assert ScalingRow("m", "cnnkit", {32: 1.0}).ratio is None  # one batch size: nothing to compare


def test_memory_ratio_and_table():
    m = MemoryResult("resnet20 train b128 x20 steps", 20, 128, {"peak_bytes": 800 * MIB, "baseline_bytes": 40 * MIB},
                     {"peak_bytes": 600 * MIB, "baseline_bytes": 220 * MIB}, Target(">=", 0.5))
    assert m.ratio == pytest.approx(0.75)
    row = format_memory([m]).splitlines()[2]
    assert row.split()[-11:] == ["800", "MiB", "40", "MiB", "600", "MiB", "220", "MiB", "0.75", "≥0.5", "✓"]
    alone = MemoryResult("x", 3, 128, {"peak_bytes": 100 * MIB, "baseline_bytes": 40 * MIB}, None, Target(">=", 0.5))
    assert alone.ratio is None
    assert format_memory([alone]).splitlines()[0].split() == ["memory", "(resident", "set)", "cnnkit", "peak",
                                                               "after", "imports"]


def test_report_and_json_carry_the_same_figures(tmp_path):
    results = [result(), result("scaling lenet5 train b32", group="scaling", target=None, model="lenet5", batch=32)]
    memory = [MemoryResult("m", 3, 128, {"peak_bytes": 2 * MIB}, {"peak_bytes": MIB}, Target(">=", 0.5))]
    scaling = scaling_rows(results)
    text = format_report(results, memory, scaling, ["a note"])
    assert "train lenet5 b128" in text and "scaling lenet5 train b32" not in text  # scaling has its own table
    assert "lenet5 train" in text and text.endswith("a note")
    path = tmp_path / "bench.json"
    write_json(str(path), to_json({"threads": 2}, results, memory, scaling))
    data = json.loads(path.read_text(encoding="utf-8"))
    first = data["results"][0]
    assert first["ratio"] == pytest.approx(0.5) and first["target_met"] is False
    assert first["cnnkit"]["median_s"] == pytest.approx(0.2) and first["cnnkit"]["min_s"] == pytest.approx(0.2)
    assert first["cnnkit"]["images_per_s"] == pytest.approx(640) and first["torch"]["gflops"] == pytest.approx(40)
    assert data["memory"][0]["ratio"] == pytest.approx(0.5) and data["memory"][0]["target_met"] is True
    assert data["scaling"][0]["seconds_per_image"] == {"32": pytest.approx(0.2 / 32)}
    assert data["meta"] == {"threads": 2}
