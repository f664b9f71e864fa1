"""ONNX files: ops whose output shape comes from the file (ConstantOfShape, Expand, Tile, Reshape, Pad, Resize)
refused by node before allocating; opsets outside the supported range refused."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cnnkit.onnx import UnsupportedOnnxError, build_model  # noqa: E402
from cnnkit.onnx.importer import MIN_OPSET  # noqa: E402
from tests.hostile.helpers import GiB, one_line_refusal, run_cli, run_fenced  # noqa: E402

F32 = TensorProto.FLOAT
HUGE = [100_000, 100_000, 10]  # 4·10¹¹ bytes of float32


def model(nodes, inits, opset=17, x_shape=(1, 1, 2, 2)):
    graph = helper.make_graph(nodes, "hostile", [helper.make_tensor_value_info("x", F32, list(x_shape))],
                              [helper.make_tensor_value_info("y", F32, ["a", "b", "c", "d"])],
                              [numpy_helper.from_array(np.asarray(v), name) for name, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def ints(values):
    return np.array(values, dtype=np.int64)


CASES = {
    "ConstantOfShape": ([helper.make_node("ConstantOfShape", ["s"], ["c"], name="big_constant"),
                         helper.make_node("Add", ["x", "c"], ["y"])], {"s": ints(HUGE)}),
    "Expand": ([helper.make_node("Expand", ["x", "s"], ["y"], name="big_expand")], {"s": ints([1, 1, *HUGE[:2]])}),
    "Tile": ([helper.make_node("Tile", ["x", "r"], ["y"], name="big_tile")], {"r": ints([1, 1, 10**6, 10**6])}),
    "Pad": ([helper.make_node("Pad", ["x", "p"], ["y"], name="big_pad")],
            {"p": ints([0, 0, 10**6, 10**6, 0, 0, 10**6, 10**6])}),
    "Resize": ([helper.make_node("Resize", ["x", "", "sc"], ["y"], name="big_resize", mode="nearest")],
               {"sc": np.array([1, 1, 1e5, 1e5], np.float32)}),
    "ConstantOfShape-negative": ([helper.make_node("ConstantOfShape", ["s"], ["c"], name="big_constant"),
                                  helper.make_node("Add", ["x", "c"], ["y"])], {"s": ints([2, -3])}),
}


@pytest.mark.parametrize("case", CASES)
def test_an_op_asked_for_a_huge_or_negative_output_is_refused_naming_the_node(case):
    nodes, inits = CASES[case]
    graph = build_model(model(nodes, inits), "hostile.onnx")
    with pytest.raises(UnsupportedOnnxError, match=r"ONNX node 'big_\w+' \(\w+, opset 17\): output shape"):
        graph(np.ones((1, 1, 2, 2), np.float32))


@pytest.mark.parametrize("shape", [[2**40, 2**40], [2**62, 4], [-2, 2], [-1, -1], [3, -1], [5]])
def test_reshape_to_an_impossible_shape_is_refused_naming_the_node(shape):
    graph = build_model(model([helper.make_node("Reshape", ["x", "s"], ["y"], name="odd_reshape")],
                              {"s": ints(shape)}))
    with pytest.raises(UnsupportedOnnxError, match=r"ONNX node 'odd_reshape' \(Reshape, opset 17\)"):
        graph(np.ones((1, 1, 2, 2), np.float32))


def test_a_plausible_reshape_and_expand_still_work():
    graph = build_model(model([helper.make_node("Reshape", ["x", "s"], ["r"]),
                               helper.make_node("Expand", ["r", "e"], ["y"])],
                              {"s": ints([-1, 1]), "e": ints([4, 3])}))
    np.testing.assert_array_equal(graph(np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)).data,
                                  np.repeat(np.arange(4, dtype=np.float32)[:, None], 3, axis=1))


@pytest.mark.parametrize("opset", [1, MIN_OPSET - 1, 99])
def test_an_opset_outside_the_supported_range_is_refused(opset):
    with pytest.raises(UnsupportedOnnxError, match=rf"m.onnx: the model uses opset {opset}; cnnkit imports opsets"):
        build_model(model([helper.make_node("Relu", ["x"], ["y"])], {}, opset=opset), "m.onnx")


def test_the_cli_refuses_an_expand_bomb_in_one_line_under_a_memory_limit(tmp_path):
    path = tmp_path / "bomb.onnx"
    nodes, inits = CASES["Expand"]
    onnx.save(model(nodes, inits), str(path))
    result = run_cli(["summary", path], memory=2 * GiB, timeout=120)
    one_line_refusal(result, "big_expand", "bytes")


def test_a_constant_of_shape_bomb_is_refused_under_a_memory_limit(tmp_path):
    path = tmp_path / "bomb.onnx"
    nodes, inits = CASES["ConstantOfShape"]
    onnx.save(model(nodes, inits), str(path))
    result = run_fenced(f"""
        import numpy as np
        from cnnkit.onnx import load, UnsupportedOnnxError
        try:
            load({str(path)!r})(np.ones((1, 1, 2, 2), np.float32))
        except UnsupportedOnnxError as error:
            print("refused:", error)
        """, memory=1 * GiB, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused:") and "big_constant" in result.stdout
