"""The command and the workloads: selection, `--quick --no-torch`, error capture, a tiny end-to-end run, the
sameness checks (which must pass on twins and fail on a tampered twin), and the memory child's protocol."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

import cnnkit
from benchmarks import memory, run, threads
from benchmarks.workload import Built, Mismatch, Workload, assert_close, assert_grads_close
from tests.gradcheck import requires_torch

QUICK = ["train lenet5 b128", "infer lenet5 b1000", "conv2d 5x5 6->16 @14 fwd+bwd", "conv2d 3x3 16->16 @32 p1 fwd+bwd",
         "max_pool2d 2x2/2 32ch@32 fwd+bwd", "batch_norm train 64ch@16 fwd+bwd", "cross_entropy 128x10 fwd+bwd",
         "scaling lenet5 train b32", "scaling lenet5 train b256", "memory resnet20 train b128"]


@pytest.fixture(autouse=True)
def _restore_thread_variables(monkeypatch):
    for var in threads._ENV_VARS:  # main() sets them; monkeypatch puts the originals back afterwards
        monkeypatch.setenv(var, "")  # setenv records the original; delenv of an absent variable records nothing
        monkeypatch.delenv(var)
    before = threads.blas_threads()
    yield
    if before is not None:  # main() also sets the loaded BLAS and the compiled kernels: the rest of the
        threads.limit_loaded(before)  # session must not run with this test's thread count


def test_quick_no_torch_lists_its_workloads(capsys):
    assert run.main(["--quick", "--no-torch", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == QUICK


def test_every_workload_of_the_issue_is_there_once():
    names = [w.name for w in run.all_workloads()]
    assert len(names) == len(set(names))
    groups = [w.group for w in run.all_workloads()]
    counts = (groups.count("model"), groups.count("op"), groups.count("scaling"), groups.count("memory"))
    assert counts == (10, 26, 8, 1)
    assert {"floor resnet20 b128: conv products alone", "floor fashion_vgg b128: conv products alone"} <= set(names)
    for model in ("lenet5", "lenet5_relu", "resnet20", "fashion_vgg"):
        assert f"train {model} b128" in names and f"infer {model} b1000" in names
    assert all(f"scaling {m} train b{b}" in names for m in ("lenet5", "resnet20") for b in (32, 64, 128, 256))
    targets = {w.name: str(w.target) for w in run.all_workloads() if w.target}
    assert targets["train lenet5 b128"] == "≥0.9" and "infer lenet5 b1000" not in targets
    assert targets["train resnet20 b128"] == targets["infer resnet20 b1000"] == "≥0.5"
    assert targets["train fashion_vgg b128"] == "≥0.8" and targets["infer fashion_vgg b1000"] == "≥0.6"
    assert targets["memory resnet20 train b128"] == "≥0.7"
    ops = [n for n in names if n.startswith(("conv2d", "max_pool", "avg_pool", "batch_norm", "cross_entropy"))]
    assert len(ops) == 26 and all(targets[n] == "≥0.3" for n in ops)  # forward alone and forward+backward


def test_only_selects_by_substring_case_insensitively():
    workloads = run.all_workloads()
    assert [w.name for w in run.select(workloads, only=["MAX_POOL2D 3x3"])] == [
        "max_pool2d 3x3/2 32ch@32 fwd", "max_pool2d 3x3/2 32ch@32 fwd+bwd"]
    assert [w.name for w in run.select(workloads, quick=True, only=["lenet5", "cross"])] == [
        "train lenet5 b128", "infer lenet5 b1000", "cross_entropy 128x10 fwd+bwd", "scaling lenet5 train b32",
        "scaling lenet5 train b256"]


def test_no_match_is_an_error(capsys):
    assert run.main(["--only", "no such workload", "--no-torch"]) == 2
    assert "no workload matches ['no such workload']" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--threads", "0"], "--threads must be at least 1, got 0"),
    (["--repeats", "0"], "--repeats must be at least 1, got 0"),
    (["--warmup", "-1"], "--warmup must be at least 0, got -1"),
    (["--profile", "0"], "--profile must be at least 1, got 0"),
])
def test_bad_options(argv, message, capsys):
    with pytest.raises(SystemExit):
        run.parse_args(argv)
    assert message in capsys.readouterr().err


def test_default_repeats_and_threads(monkeypatch):
    assert run.parse_args([]).repeats == 7 and run.parse_args(["--quick"]).repeats == 3
    assert run.parse_args(["--quick", "--repeats", "5"]).repeats == 5 and run.parse_args([]).threads == 2
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # the caller's choice wins over the default, not over --threads
    assert run.parse_args([]).threads == 1 and run.parse_args(["--threads", "2"]).threads == 2


def test_load_warning_only_above_the_threshold():
    assert run.load_warning((1.5, 9.0, 9.0)) is None
    assert run.load_warning((1.51, 0.0, 0.0)).startswith("WARNING: 1-minute load average 1.51 at start (> 1.5)")
    assert "--threads 1 avoids that" in run.load_warning((2.0, 0.0, 0.0), 2)
    assert run.load_warning((2.0, 0.0, 0.0), 1).endswith("other processes are using the CPU. These figures are "
                                                           "disturbed.")


def test_steal_is_read_from_the_cpu_line_in_clock_ticks(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  10 0 20 30 5 0 1 250 0 0\ncpu0 5 0 10 15 2 0 1 125 0 0\n")
    assert run.steal_seconds(str(stat)) == pytest.approx(250 / os.sysconf("SC_CLK_TCK"))
    stat.write_text("cpu  10 0 20 30\n")  # an old kernel without the field
    assert run.steal_seconds(str(stat)) is None
    assert run.steal_seconds(str(tmp_path / "absent")) is None


def test_steal_note_warns_above_five_percent_of_the_cpu_time():
    assert run.steal_note(None, 200.0, 2) is None
    assert run.steal_note(0.3, 200.0, 2) == "host steal: 0.3 s of 2 x 200 s CPU time (0.1%)"
    assert run.steal_note(20.0, 200.0, 2).startswith("host steal")  # exactly 5 %: not yet disturbed
    warning = run.steal_note(124.0, 310.0, 2)
    assert warning.startswith("WARNING: host steal: 124.0 s of 2 x 310 s CPU time (20.0%)")
    assert warning.endswith("These figures are disturbed.")


def test_missing_torch_skips_its_columns_with_a_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    torch, note = run.load_torch(no_torch=False)
    assert torch is None and note.startswith("PyTorch columns skipped: torch is not installed")
    assert run.load_torch(no_torch=True) == (None, "PyTorch columns skipped: --no-torch.")


def test_start_warnings_for_load_and_a_waiting_blas():
    assert run.start_warnings((0.5, 3.0, 3.0), 5e-5, 2) == []
    (warning,) = run.start_warnings((0.5, 0.0, 0.0), 0.024, 2)
    assert warning.startswith("WARNING: a small BLAS product takes 24.0 ms") and "2-thread OpenBLAS" in warning
    assert len(run.start_warnings((2.0, 0.0, 0.0), 0.024, 2)) == 2


def test_a_failing_workload_becomes_an_error_row():
    def mismatching(torch):
        def check():
            raise Mismatch("logits: differ")

        return Built(lambda: None, lambda: None, 1, 1.0, check)

    result = run.run_timed(Workload("w", "op", mismatching), None, repeats=1, warmup=0)
    assert result.error == "Mismatch: logits: differ" and result.cnnkit is None
    broken = run.run_timed(Workload("w", "op", lambda torch: 1 / 0), None, repeats=1, warmup=0)
    assert broken.error == "ZeroDivisionError: division by zero"


def test_a_workload_without_torch_times_cnnkit_alone():
    calls = []
    result = run.run_timed(Workload("w", "op", lambda torch: Built(lambda: calls.append(1), None, 4, 8.0)), None,
                           repeats=3, warmup=1)
    assert result.error is None and result.torch is None and len(result.cnnkit.samples) == 3
    assert (result.images, result.flops) == (4, 8.0) and len(calls) >= 1 + 1 + 3


def test_tiny_end_to_end_run_without_torch(tmp_path, capsys):
    path = tmp_path / "out.json"
    code = run.main(["--no-torch", "--only", "cross_entropy 128x10 fwd+bwd", "--repeats", "2", "--warmup", "0",
                     "--json", str(path)])
    assert code == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["workload", "cnnkit", "img/s", "GFLOP/s"]
    assert "PyTorch columns skipped: --no-torch." in out
    data = json.loads(path.read_text(encoding="utf-8"))
    (row,) = data["results"]
    assert row["name"] == "cross_entropy 128x10 fwd+bwd" and row["torch"] is None and row["ratio"] is None
    assert len(row["cnnkit"]["samples_s"]) == 2 and row["cnnkit"]["median_s"] > 0
    assert row["flops_per_call"] == 7 * 128 * 10 and row["images_per_call"] == 128
    meta = data["meta"]
    assert len(meta["loadavg_start"]) == 3 and len(meta["loadavg_end"]) == 3
    assert meta["threads"]["requested"] == 2 and meta["versions"]["torch"] is None
    assert set(meta["threads"]["blas_probe_s"]) == {"start", "end"}
    assert meta["threads"]["steal_s"] >= 0 and "host steal: " in out  # Linux has the counter


def test_sameness_checks_of_plain_arrays():
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0015]), "x")  # 1.5e-3 of 2.0015 is within 1e-3 · max
    with pytest.raises(Mismatch, match=r"x: cnnkit and PyTorch differ by 0.003 \(largest \|value\| 2"):
        assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.003]), "x")
    with pytest.raises(Mismatch, match=r"x: cnnkit shape \(2,\) vs PyTorch \(3,\)"):
        assert_close(np.zeros(2), np.zeros(3), "x")
    with pytest.raises(Mismatch):
        assert_close(np.array([np.nan]), np.array([1.0]), "x")
    big, noise = np.ones(100), np.full(4, 1e-9)
    assert_grads_close([("w", big * 1.01, big), ("b", -noise, noise)])  # b's norm is below the floor: noise
    with pytest.raises(Mismatch, match="gradient of w: cnnkit and PyTorch differ by"):
        assert_grads_close([("w", big * 1.05, big)])


def test_profile_prints_the_costliest_functions(capsys):
    assert run.main(["--no-torch", "--only", "cross_entropy 128x10 fwd", "--profile", "3", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cross_entropy 128x10 fwd: 2 calls, ") and "ncalls  tottime" in out
    assert "cross_entropy 128x10 fwd+bwd: 2 calls" in out  # --only matches both passes


def test_memory_status_fields():
    assert memory.status_bytes("VmRSS") > 1024 * 1024
    assert memory.peak_bytes() >= memory.status_bytes("VmRSS")
    assert memory.status_bytes("NoSuchField") is None


def test_memory_child_reports_baseline_and_peak():
    report = memory.run_child("cnnkit", steps=1, batch=2, threads=1)
    assert report["framework"] == "cnnkit" and report["steps"] == 1 and report["batch"] == 2
    assert 0 < report["baseline_bytes"] <= report["built_bytes"] <= report["peak_bytes"]
    assert report["threads"]["requested"] == 1


# ------------------------------------------------------------------------------------------- with PyTorch
@requires_torch
def test_model_workloads_pass_their_check_and_catch_a_tampered_twin():
    import torch

    from benchmarks import workloads_models as wm
    from benchmarks.twins import torch_twin

    wm.model_case("lenet5", 8, True, torch).check()
    wm.model_case("fashion_vgg", 4, False, torch).check()
    cnnkit.manual_seed(0)
    model = cnnkit.models.get_model("lenet5_relu")
    twin = torch_twin(model)
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28), dtype=np.float32)
    y = np.arange(4, dtype=np.int64)
    with torch.no_grad():
        twin.classifier[2].weight[0, 0] += 1.0
    with pytest.raises(Mismatch, match="logits"):
        wm._train_check(torch, model, twin, x, y)()
    model.eval(), twin.eval()
    with pytest.raises(Mismatch, match="logits"):
        wm._infer_check(torch, model, twin, x)()


@requires_torch
def test_twins_match_structure_and_refuse_unknown_modules():
    import torch

    from benchmarks.twins import torch_twin

    cnnkit.manual_seed(0)
    model = cnnkit.models.get_model("resnet20").eval()
    twin = torch_twin(model)
    assert list(twin.state_dict()) == list(model.state_dict()) and not twin.training
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32), dtype=np.float32)
    with cnnkit.no_grad(), torch.no_grad():
        assert_close(model(cnnkit.tensor(x))._data, twin(torch.from_numpy(x)).numpy(), "resnet20 logits")

    class Custom(cnnkit.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="torch_twin: no PyTorch twin for cnnkit module Custom"):
        torch_twin(cnnkit.nn.Sequential(cnnkit.nn.ReLU(), Custom()))


@requires_torch
def test_op_workloads_pass_their_check():
    import torch

    from benchmarks import workloads_ops

    specs = {s.name: s for s in workloads_ops.specs()}
    for name in ("cross_entropy 128x10", "conv2d 5x5 1->6 @32"):
        built = workloads_ops.op_case(specs[name], True, torch)
        built.check()
        built.cnnkit(), built.torch()


def test_products_floor_replays_every_product_of_the_convolutions(monkeypatch):
    """One step's record, once per chunk of the batch (batch 4: chunks of one image): Winograd's tile products
    for the forward, the input gradient and the weight gradient of every eligible layer (the stem is not one);
    for the others W·cols (forward), dY·colsᵀ (weight gradient) and Wᵀ·dY for the input gradients but the
    stem's (its input needs no gradient; no stride-1 layer of ResNet-20 outside Winograd has C ≥ F), with the
    stem's shapes as conv2d lays them out."""
    from benchmarks import products_floor
    from benchmarks.workloads_models import model_case
    from cnnkit.models import get_model
    from cnnkit.nn import Conv2d
    from cnnkit.ops import winograd
    from cnnkit.ops.im2col import Window

    monkeypatch.setattr(winograd, "MIN_FLOPS", 0)  # batch 4 is below the work from which Winograd pays
    layers = [m for m in get_model("resnet20").modules() if isinstance(m, Conv2d)]
    eligible = [winograd.eligible(Window(m.kernel_size, m.stride, m.dilation), m.kernel_size, m.groups,
                                  m.in_channels, m.out_channels, 1.0) for m in layers]
    assert not eligible[0] and 0 < sum(eligible) < len(layers) - 1
    calls = products_floor.recorded_products(model_case("resnet20", 4, True).cnnkit)
    names = [name for name, _ in calls]
    assert names.count("_weight_product") == 4 * (len(layers) - sum(eligible))
    assert names.count("_tile_products") == 4 * 3 * sum(eligible)  # the forward, dX and dW
    assert names.count("_forward_product") == 4 * (len(layers) - sum(eligible))
    assert names.count("_adjoint_product") == 4 * (len(layers) - 1 - sum(eligible))
    # W (groups, 16, 3·3·3), the chunk's cols (groups, 27, 1·32·34: whole padded rows) and its output
    stem = calls[0][1]
    assert stem == [(1, 16, 27), (1, 27, 1088), (1, 16, 1088)]
    built = products_floor.floor_case("resnet20")
    assert built.torch is None and built.images == 128
    built.cnnkit()  # replays without error


def test_kernels_first_calls_are_timed_and_reported(monkeypatch):
    from cnnkit.ops import compiled

    def build(torch):
        compiled._first_calls[0] += 1.5  # as a kernel compiled during the check would
        return Built(lambda: None, None, 1, 1.0)

    result = run.run_timed(Workload("w", "op", build), None, repeats=2, warmup=0)
    assert result.extra["cnnkit_compile_s"] == 1.5
    assert "kernels' first calls 1.50 s" in run.describe(result)
    again = run.run_timed(Workload("w", "op", lambda torch: Built(lambda: None, None, 1, 1.0)), None, repeats=1,
                          warmup=0)
    assert again.extra["cnnkit_compile_s"] == 0 and "first calls" not in run.describe(again)


def test_first_kernel_call_is_counted_once():
    import numpy as np

    from cnnkit.ops import compiled

    @compiled.compiled(parallel=False)
    def double(a):
        for i in range(a.shape[0]):
            a[i] *= 2

    before = compiled.first_call_seconds()
    a = np.ones(4)
    double(a)
    after_first = compiled.first_call_seconds()
    double(a)
    assert after_first > before and compiled.first_call_seconds() == after_first
    np.testing.assert_array_equal(a, 4.0)


def test_busy_core_spins_a_child_and_stops_it():
    import os

    from benchmarks.busy import busy_core

    with busy_core() as busy:
        pid = busy["pid"]
        os.kill(pid, 0)  # alive
        if busy["cpu"] is not None:
            assert os.sched_getaffinity(pid) == {busy["cpu"]}
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert run.parse_args(["--busy"]).busy and not run.parse_args([]).busy
