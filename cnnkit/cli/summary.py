"""`cnnkit summary MODEL`: the layer table (output shapes, parameters, multiply-accumulates) of a zoo model, or of
an ONNX file (MODEL ending in .onnx), imported with cnnkit.onnx."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help="print a zoo model's layer table",
                       description="Print each layer's output shape, parameter count and multiply-accumulates.")
    p.add_argument("model", metavar="MODEL", help="a zoo model's name, or an ONNX file (*.onnx)")
    p.add_argument("--input-shape", type=int, nargs=3, metavar=("C", "H", "W"),
                   help="input shape without the batch dimension (default: the model's own)")
    p.add_argument("--num-classes", type=int, default=None)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cnnkit.models import get_model, model_info
    from cnnkit.summary import summary

    if args.model.endswith(".onnx"):
        return _run_onnx(args)
    entry = model_info(args.model)
    shape = tuple(args.input_shape) if args.input_shape else tuple(entry.input_shape)
    kwargs = {"in_channels": shape[0]}
    if args.num_classes:
        kwargs["num_classes"] = args.num_classes
    print(summary(get_model(args.model, **kwargs), shape))
    return 0


def _run_onnx(args: argparse.Namespace) -> int:
    from cnnkit.onnx import load
    from cnnkit.summary import summary

    model = load(args.model)
    if len(model.input_specs) != 1:
        raise ValueError(f"{args.model}: summary runs graphs with one input, this one has {len(model.input_specs)}")
    name, _, dims = model.input_specs[0]
    shape = tuple(args.input_shape) if args.input_shape else tuple(dims[1:])
    if not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"{args.model}: input {name!r} has no fixed size {dims}; give --input-shape C H W")
    print(summary(model, shape))
    return 0
