"""benchmarks.distributed: the speed-up model and the table, on made-up measurements (no processes started)."""

from __future__ import annotations

import pytest

from benchmarks.distributed import speedup, table

RESULTS = [
    {"model": "lenet5", "processes": 1, "threads": 2, "step_seconds": 0.2, "images_per_second": 640.0},
    {
        "model": "lenet5",
        "processes": 2,
        "threads": 1,
        "step_seconds": 0.1,
        "images_per_second": 1280.0,
        "compute_seconds": 0.09,
        "wait_seconds": 0.002,
        "allreduce_seconds": 0.001,
        "gradient_bytes": 250_000,
    },
]


def test_speedup_model():
    assert speedup(0.1, 10**6, 1, 1.0) == pytest.approx(1.0)  # one machine: no communication
    # N = 4 at 1 Gbit/s: 2·G·(3/4) = 1.5 MB in 12 ms; t = 0.1/4 + 0.012 = 0.037 s
    assert speedup(0.1, 10**6, 4, 1.0) == pytest.approx(0.1 / 0.037)
    assert speedup(0.1, 10**6, 8, 1e6) == pytest.approx(8.0, rel=1e-4)  # endless bandwidth: linear


def test_table_lists_measurements_and_model():
    text = table(RESULTS, 128)
    assert "| lenet5 | – | 640 | 1280 | 2.00× | 90.0 ms | 1.00 ms | 2.00 ms | 0.25 |" in text
    row = next(line for line in text.splitlines() if line.startswith("| lenet5 | 1 Gbit/s"))
    cells = [float(c) for c in row.strip("|").split("|")[2:]]
    assert cells[0] == 1.0 and cells == sorted(cells)  # t₁ = 0.1 s (the best), speed-up grows with N here
    assert cells[1] == pytest.approx(round(speedup(0.1, 250_000, 2, 1.0), 1))
