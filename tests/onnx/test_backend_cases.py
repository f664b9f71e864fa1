"""cnnkit.onnx.load against the ONNX project's own test cases, shipped in the `onnx` wheel.

- `pytorch-converted` and `pytorch-operator` (opsets 6–12): models, inputs and expected outputs as files;
- the `light_*` model graphs (AlexNet, VGG-19, ResNet-50, ZFNet, Inception v1/v2, SqueezeNet, ShuffleNet,
  DenseNet-121): expected outputs for ONNX's runner input arange(n)/n; their weights all equal 0.02, so each
  is also run with random weights against onnxruntime (logits, before the final Softmax);
- node cases (`onnx.backend.test.case.node`, generated when their module is imported).

Every output must match within rtol 1e-3, atol 1e-4. Cases are selected by name below; what is left out
is listed with the reason. Light graphs other than SqueezeNet and ResNet-50, and the MaxPool/AveragePool node
cases (their modules take 6–10 s to generate), are marked slow.
"""

from __future__ import annotations

import importlib
import warnings
from functools import cache

import numpy as np
import pytest

from tests.onnx.onnx_cases import (
    DATA,
    as_array,
    assert_outputs,
    light_input,
    light_with_random_weights,
    onnxruntime_outputs,
    read_case,
)

onnx = pytest.importorskip("onnx")
cnnkit_onnx = pytest.importorskip("cnnkit.onnx")
import cnnkit  # noqa: E402

# --------------------------------------------------------------------- pytorch-converted / pytorch-operator
# Left out: the 3-D cases (Conv3d, MaxPool3d, AvgPool3d; cnnkit has 2-D kernels), and nothing else.
CONVERTED = [
    "AvgPool1d",
    "AvgPool1d_stride",
    "AvgPool2d",
    "AvgPool2d_stride",
    "BatchNorm1d_3d_input_eval",
    "BatchNorm2d_eval",
    "BatchNorm2d_momentum_eval",
    "BatchNorm3d_eval",
    "BatchNorm3d_momentum_eval",
    "ConstantPad2d",
    "Conv1d",
    "Conv1d_dilated",
    "Conv1d_groups",
    "Conv1d_pad1",
    "Conv1d_pad1size1",
    "Conv1d_pad2",
    "Conv1d_pad2size1",
    "Conv1d_stride",
    "Conv2d",
    "Conv2d_depthwise",
    "Conv2d_depthwise_padded",
    "Conv2d_depthwise_strided",
    "Conv2d_depthwise_with_multiplier",
    "Conv2d_dilated",
    "Conv2d_groups",
    "Conv2d_groups_thnn",
    "Conv2d_no_bias",
    "Conv2d_padding",
    "Conv2d_strided",
    "ConvTranspose2d",
    "ConvTranspose2d_no_bias",
    "ELU",
    "Embedding",
    "Embedding_sparse",
    "GLU",
    "GLU_dim",
    "LeakyReLU",
    "LeakyReLU_with_negval",
    "Linear",
    "Linear_no_bias",
    "LogSoftmax",
    "MaxPool1d",
    "MaxPool1d_stride",
    "MaxPool1d_stride_padding_dilation",
    "MaxPool2d",
    "MaxPool2d_stride_padding_dilation",
    "PReLU_1d",
    "PReLU_1d_multiparam",
    "PReLU_2d",
    "PReLU_2d_multiparam",
    "PReLU_3d",
    "PReLU_3d_multiparam",
    "PixelShuffle",
    "PoissonNLLLLoss_no_reduce",
    "ReLU",
    "ReflectionPad2d",
    "ReplicationPad2d",
    "SELU",
    "Sigmoid",
    "Softmax",
    "Softmin",
    "Softplus",
    "Softsign",
    "Tanh",
    "ZeroPad2d",
    "log_softmax_dim3",
    "log_softmax_lastdim",
    "softmax_functional_dim3",
    "softmax_lastdim",
]
OPERATOR = [
    "add_broadcast",
    "add_size1_broadcast",
    "add_size1_right_broadcast",
    "add_size1_singleton_broadcast",
    "addconstant",
    "addmm",
    "basic",
    "chunk",
    "clip",
    "concat2",
    "conv",
    "convtranspose",
    "exp",
    "flatten",
    "index",
    "max",
    "maxpool",
    "min",
    "mm",
    "non_float_params",
    "pad",
    "params",
    "permute2",
    "pow",
    "reduced_mean",
    "reduced_mean_keepdim",
    "reduced_sum",
    "reduced_sum_keepdim",
    "repeat",
    "repeat_dim_overflow",
    "selu",
    "sqrt",
    "symbolic_override",
    "symbolic_override_nested",
    "view",
]


def _run_case(kind: str, name: str) -> None:
    path, data_sets = read_case(DATA / kind / f"test_{name}")
    model = cnnkit_onnx.load(path)
    assert data_sets, f"{kind}/{name} has no data sets"
    for inputs, expected in data_sets:
        with cnnkit.no_grad():
            assert_outputs(model(*inputs), expected, what=f"{kind}/{name}")


@pytest.mark.parametrize("name", CONVERTED)
def test_pytorch_converted(name: str) -> None:
    _run_case("pytorch-converted", name)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # pow, sqrt of negatives: NaN
@pytest.mark.parametrize("name", OPERATOR)
def test_pytorch_operator(name: str) -> None:
    _run_case("pytorch-operator", f"operator_{name}")


def test_3d_cases_are_refused_naming_the_op_and_node() -> None:
    path, data_sets = read_case(DATA / "pytorch-converted" / "test_Conv3d")
    model = cnnkit_onnx.load(path)
    with pytest.raises(cnnkit_onnx.UnsupportedOnnxError, match=r"'Conv_0' \(Conv, opset 6\).*1-D and 2-D"):
        model(*data_sets[0][0])


# --------------------------------------------------------------------- light_* model graphs
LIGHT_FAST = ["squeezenet", "resnet50"]
LIGHT_SLOW = ["bvlc_alexnet", "vgg19", "zfnet512", "inception_v1", "inception_v2", "shufflenet", "densenet121"]
LIGHT = [pytest.param(n) for n in LIGHT_FAST] + [pytest.param(n, marks=pytest.mark.slow) for n in LIGHT_SLOW]


def _light(name: str):
    return onnx.load(str(DATA / "light" / f"light_{name}.onnx"))


@pytest.mark.parametrize("name", LIGHT)
def test_light_model_expected_output(name: str) -> None:
    proto = _light(name)
    expected = onnx.numpy_helper.to_array(onnx.load_tensor(str(DATA / "light" / f"light_{name}_output_0.pb")))
    if name == "squeezenet":
        _check_equal_logits(proto, expected)
        return
    with cnnkit.no_grad():
        got = cnnkit_onnx.load(proto)(light_input(proto))
    assert_outputs(got, [expected], what=f"light_{name}")


def _check_equal_logits(proto, expected: np.ndarray) -> None:
    """light_squeezenet ends in a Softmax over 1,000 logits of about 9.5e9 that are equal in exact arithmetic
    (ONNX's output is 0.001 everywhere). float32's spacing there is 1,024, so one rounding in another summation
    order (OpenBLAS on one thread, for one) turns the softmax one-hot: the check is on the logits instead."""
    assert np.allclose(expected, 1 / expected.size)  # the reference: all logits equal
    softmax = proto.graph.node[-1]
    assert softmax.op_type == "Softmax"
    del proto.graph.node[-1]
    proto.graph.output[0].name = softmax.input[0]
    with cnnkit.no_grad():
        logits = np.asarray(cnnkit_onnx.load(proto)(light_input(proto))._data)
    assert logits.shape == expected.shape and logits.min() > 1e9
    assert (logits.max() - logits.min()) / logits.max() < 1e-6  # equal to float32 rounding


@pytest.mark.slow
@pytest.mark.parametrize("name", LIGHT_FAST + LIGHT_SLOW)
def test_light_model_random_weights_match_onnxruntime(name: str) -> None:
    proto = light_with_random_weights(_light(name), seed=0)
    x = np.random.default_rng(1).random(light_input(proto).shape, dtype=np.float32)
    expected = onnxruntime_outputs(proto, [x])[0]
    assert np.std(expected) > 1e-3, "random weights should give spread-out logits"
    with cnnkit.no_grad():
        got = cnnkit_onnx.load(proto)(x)
    scale = float(np.abs(expected).max())
    assert_outputs(got, [expected], atol=1e-4 * scale, what=f"light_{name} (random weights)")


# --------------------------------------------------------------------- node cases
# Node case names by the module of onnx.backend.test.case.node that generates them. Left out: 3-D pooling and
# ConvTranspose, the MaxPool Indices output with storage_order=1, Resize's cubic mode and antialias, Dropout in
# training mode (NumPy's random mask cannot be reproduced), and the 2-, 4- and 8-bit and bfloat16 casts.
NODE = {
    "conv": [
        "basic_conv_with_padding",
        "basic_conv_without_padding",
        "conv_with_strides_padding",
        "conv_with_strides_no_padding",
        "conv_with_strides_and_asymmetric_padding",
        "conv_with_autopad_same",
    ],
    "convtranspose": [
        "convtranspose",
        "convtranspose_1d",
        "convtranspose_output_shape",
        "convtranspose_pad",
        "convtranspose_kernel_shape",
        "convtranspose_pads",
        "convtranspose_dilations",
        "convtranspose_autopad_same",
        "convtranspose_group_2",
        "convtranspose_group_2_image_3",
    ],
    "maxpool": [
        "maxpool_2d_uint8",
        "maxpool_2d_precomputed_pads",
        "maxpool_with_argmax_2d_precomputed_pads",
        "maxpool_2d_precomputed_strides",
        "maxpool_2d_precomputed_same_upper",
        "maxpool_1d_default",
        "maxpool_2d_default",
        "maxpool_2d_same_upper",
        "maxpool_2d_same_lower",
        "maxpool_2d_pads",
        "maxpool_2d_strides",
        "maxpool_2d_ceil",
        "maxpool_2d_ceil_output_size_reduce_by_one",
        "maxpool_2d_dilations",
    ],
    "averagepool": [
        "averagepool_2d_precomputed_pads",
        "averagepool_2d_precomputed_pads_count_include_pad",
        "averagepool_2d_precomputed_strides",
        "averagepool_2d_precomputed_same_upper",
        "averagepool_1d_default",
        "averagepool_2d_default",
        "averagepool_2d_same_upper",
        "averagepool_2d_same_lower",
        "averagepool_2d_pads",
        "averagepool_2d_pads_count_include_pad",
        "averagepool_2d_strides",
        "averagepool_2d_ceil",
        "averagepool_2d_ceil_last_window_starts_on_pad",
        "averagepool_2d_dilations",
    ],
    "globalaveragepool": ["globalaveragepool", "globalaveragepool_precomputed"],
    "globalmaxpool": ["globalmaxpool", "globalmaxpool_precomputed"],
    "batch_normalization": [
        "batchnorm_example",
        "batchnorm_epsilon",
        "batchnorm_example_training_mode",
        "batchnorm_epsilon_training_mode",
    ],
    "instance_normalization": ["instancenorm_example", "instancenorm_epsilon"],
    "gemm": [
        "gemm_default_zero_bias",
        "gemm_default_no_bias",
        "gemm_default_scalar_bias",
        "gemm_default_single_elem_vector_bias",
        "gemm_default_vector_bias",
        "gemm_default_matrix_bias",
        "gemm_transposeA",
        "gemm_transposeB",
        "gemm_alpha",
        "gemm_beta",
        "gemm_all_attributes",
    ],
    "matmul": ["matmul_2d", "matmul_3d", "matmul_4d", "matmul_bcast", "matmul_1d_3d", "matmul_4d_1d", "matmul_1d_1d"],
    "lrn": ["lrn", "lrn_default"],
    "relu": ["relu"],
    "leakyrelu": ["leakyrelu_example", "leakyrelu", "leakyrelu_default"],
    "elu": ["elu_example", "elu", "elu_default"],
    "selu": ["selu_example", "selu", "selu_default"],
    "prelu": ["prelu_example", "prelu_broadcast"],
    "tanh": ["tanh_example", "tanh"],
    "sigmoid": ["sigmoid_example", "sigmoid"],
    "hardsigmoid": ["hardsigmoid_example", "hardsigmoid", "hardsigmoid_default"],
    "hardswish": ["hardswish"],
    "softplus": ["softplus_example", "softplus"],
    "gelu": ["gelu_tanh_1", "gelu_tanh_2", "gelu_default_1", "gelu_default_2"],
    "softmax": [
        "softmax_example",
        "softmax_large_number",
        "softmax_axis_0",
        "softmax_axis_1",
        "softmax_axis_2",
        "softmax_negative_axis",
        "softmax_default_axis",
    ],
    "logsoftmax": [
        "logsoftmax_example_1",
        "logsoftmax_large_number",
        "logsoftmax_axis_0",
        "logsoftmax_axis_1",
        "logsoftmax_axis_2",
        "logsoftmax_negative_axis",
        "logsoftmax_default_axis",
    ],
    "add": ["add", "add_bcast", "add_int8", "add_int16", "add_uint8", "add_uint16", "add_uint32", "add_uint64"],
    "sub": ["sub_example", "sub", "sub_bcast", "sub_int8", "sub_uint8"],
    "mul": ["mul_example", "mul", "mul_bcast", "mul_int8", "mul_uint8"],
    "div": ["div_example", "div", "div_bcast", "div_int8", "div_int32_trunc", "div_uint8"],
    "pow": [
        "pow_example",
        "pow",
        "pow_bcast_scalar",
        "pow_bcast_array",
        "pow_types_float32_int64",
        "pow_types_int64_float32",
        "pow_types_float32_int32",
        "pow_types_int32_float32",
        "pow_types_int64_int64",
    ],
    "neg": ["neg_example", "neg"],
    "abs": ["abs"],
    "exp": ["exp_example", "exp"],
    "log": ["log_example", "log"],
    "sqrt": ["sqrt_example", "sqrt"],
    "reciprocal": ["reciprocal_example", "reciprocal"],
    "sum": ["sum_example", "sum_one_input", "sum_two_inputs"],
    "mean": ["mean_example", "mean_one_input", "mean_two_inputs"],
    "max": ["max_example", "max_one_input", "max_two_inputs", "max_int8", "max_float64"],
    "min": ["min_example", "min_one_input", "min_two_inputs", "min_int8", "min_float64"],
    "clip": [
        "clip_example",
        "clip",
        "clip_inbounds",
        "clip_outbounds",
        "clip_splitbounds",
        "clip_min_greater_than_max",
        "clip_default_min",
        "clip_default_max",
        "clip_default_inbounds",
        "clip_default_int8_min",
        "clip_default_int8_max",
        "clip_default_int8_inbounds",
    ],
    "concat": [
        "concat_1d_axis_0",
        "concat_1d_axis_negative_1",
        "concat_2d_axis_0",
        "concat_2d_axis_1",
        "concat_2d_axis_negative_2",
        "concat_2d_axis_negative_1",
        "concat_3d_axis_0",
        "concat_3d_axis_1",
        "concat_3d_axis_2",
        "concat_3d_axis_negative_3",
        "concat_3d_axis_negative_2",
        "concat_3d_axis_negative_1",
    ],
    "split": [
        "split_equal_parts_1d_opset13",
        "split_variable_parts_1d_opset13",
        "split_equal_parts_2d_opset13",
        "split_variable_parts_2d_opset13",
        "split_equal_parts_default_axis_opset13",
        "split_zero_size_splits_opset13",
        "split_equal_parts_1d_opset18",
        "split_variable_parts_2d_opset18",
        "split_1d_uneven_split_opset18",
        "split_2d_uneven_split_opset18",
    ],
    "reshape": [
        "reshape_reordered_all_dims",
        "reshape_reordered_last_dims",
        "reshape_reduced_dims",
        "reshape_extended_dims",
        "reshape_one_dim",
        "reshape_negative_dim",
        "reshape_negative_extended_dims",
        "reshape_zero_dim",
        "reshape_zero_and_negative_dim",
        "reshape_allowzero_reordered",
    ],
    "flatten": [
        "flatten_axis0",
        "flatten_axis1",
        "flatten_axis2",
        "flatten_axis3",
        "flatten_default_axis",
        "flatten_negative_axis4",
        "flatten_negative_axis3",
        "flatten_negative_axis2",
        "flatten_negative_axis1",
    ],
    "transpose": ["transpose_default"] + [f"transpose_all_permutations_{k}" for k in range(6)],
    "pad": ["constant_pad", "edge_pad", "reflect_pad", "wrap_pad", "constant_pad_axes", "constant_pad_negative_axes"],
    "slice": [
        "slice",
        "slice_neg",
        "slice_start_out_of_bounds",
        "slice_end_out_of_bounds",
        "slice_default_axes",
        "slice_default_steps",
        "slice_neg_steps",
        "slice_negative_axes",
    ],
    "squeeze": ["squeeze", "squeeze_negative_axes"],
    "unsqueeze": [
        "unsqueeze_axis_0",
        "unsqueeze_axis_1",
        "unsqueeze_axis_2",
        "unsqueeze_two_axes",
        "unsqueeze_three_axes",
        "unsqueeze_unsorted_axes",
        "unsqueeze_negative_axes",
    ],
    "gather": ["gather_0", "gather_1", "gather_2d_indices", "gather_negative_indices"],
    "shape": [
        "shape_example",
        "shape",
        "shape_start_1",
        "shape_end_1",
        "shape_start_negative_1",
        "shape_end_negative_1",
        "shape_start_1_end_negative_1",
        "shape_start_1_end_2",
        "shape_clip_start",
        "shape_clip_end",
        "shape_start_greater_than_end",
    ],
    "size": ["size_example", "size"],
    "constant": ["constant"],
    "constantofshape": ["constantofshape_float_ones", "constantofshape_int_zeros", "constantofshape_int_shape_zero"],
    "identity": ["identity"],
    "cast": [
        "cast_FLOAT_to_FLOAT16",
        "cast_FLOAT_to_DOUBLE",
        "cast_FLOAT16_to_FLOAT",
        "cast_FLOAT16_to_DOUBLE",
        "cast_DOUBLE_to_FLOAT",
        "cast_DOUBLE_to_FLOAT16",
    ],
    "tile": ["tile", "tile_precomputed"],
    "expand": ["expand_dim_changed", "expand_dim_unchanged"],
    "dropout": [
        "dropout_default",
        "dropout_default_ratio",
        "dropout_default_mask",
        "dropout_default_mask_ratio",
        "training_dropout_zero_ratio",
        "training_dropout_zero_ratio_mask",
        "dropout_default_old",
        "dropout_random_old",
    ],
    "reducemean": [
        "reduce_mean_do_not_keepdims_example",
        "reduce_mean_keepdims_random",
        "reduce_mean_default_axes_keepdims_example",
        "reduce_mean_negative_axes_keepdims_random",
    ],
    "reducesum": [
        "reduce_sum_do_not_keepdims_example",
        "reduce_sum_keepdims_random",
        "reduce_sum_default_axes_keepdims_example",
        "reduce_sum_negative_axes_keepdims_random",
        "reduce_sum_empty_axes_input_noop_example",
        "reduce_sum_empty_set",
    ],
    "resize": [
        "resize_upsample_scales_nearest",
        "resize_downsample_scales_nearest",
        "resize_upsample_sizes_nearest",
        "resize_downsample_sizes_nearest",
        "resize_upsample_scales_linear",
        "resize_upsample_scales_linear_align_corners",
        "resize_downsample_scales_linear",
        "resize_downsample_scales_linear_align_corners",
        "resize_tf_crop_and_resize",
        "resize_tf_crop_and_resize_extrapolation_value",
        "resize_downsample_sizes_linear_pytorch_half_pixel",
        "resize_upsample_sizes_nearest_floor_align_corners",
        "resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric",
        "resize_upsample_sizes_nearest_ceil_half_pixel",
        "resize_upsample_scales_nearest_axes_2_3",
        "resize_upsample_scales_nearest_axes_3_2",
        "resize_upsample_sizes_nearest_axes_2_3",
        "resize_upsample_sizes_nearest_axes_3_2",
        "resize_tf_crop_and_resize_axes_2_3",
        "resize_tf_crop_and_resize_axes_3_2",
        "resize_upsample_sizes_nearest_not_larger",
        "resize_upsample_sizes_nearest_not_smaller",
        "resize_downsample_sizes_nearest_not_larger",
        "resize_downsample_sizes_nearest_not_smaller",
        "resize_downsample_scales_linear_half_pixel_symmetric",
        "resize_upsample_scales_linear_half_pixel_symmetric",
    ],
    "upsample": ["upsample_nearest"],
}
SLOW_MODULES = {"maxpool", "averagepool"}
NODE_PARAMS = [
    pytest.param(module, name, id=name, marks=[pytest.mark.slow] if module in SLOW_MODULES else [])
    for module, names in NODE.items()
    for name in names
]


@cache
def _node_cases(module: str) -> dict:
    """The node cases generated by importing one case module (NumPy warnings of its own generation silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        importlib.import_module(f"onnx.backend.test.case.node.{module}")
    from onnx.backend.test.case.node import _NodeTestCases

    return {case.name: case for case in _NodeTestCases}


@pytest.mark.parametrize(("module", "name"), NODE_PARAMS)
def test_node_case(module: str, name: str) -> None:
    case = _node_cases(module)[f"test_{name}"]
    model = cnnkit_onnx.load(case.model)
    for inputs, expected in case.data_sets:
        with cnnkit.no_grad():
            assert_outputs(model(*[as_array(x) for x in inputs]), expected, what=name)


def test_every_listed_node_case_exists() -> None:
    """A renamed case in a newer onnx wheel must not silently drop out of the test (fast modules only)."""
    for module, names in NODE.items():
        if module in SLOW_MODULES:
            continue
        cases = _node_cases(module)
        missing = [n for n in names if f"test_{n}" not in cases]
        assert not missing, f"{module}: no node cases named {missing}"
