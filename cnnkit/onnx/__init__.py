"""`cnnkit.onnx`: models in and out of ONNX.

- `export(model, example_input, path, opset_version=17, input_names=None, output_names=None,
  dynamic_axes=None)` runs the model once in eval mode, records its operations and writes an ONNX graph
  (weights as initializers), as `torch.onnx.export` is called.
- `load(path) -> OnnxModel` turns an ONNX graph into a cnnkit module built from cnnkit's own differentiable
  ops: callable on the graph's inputs, printable, summarisable and fine-tunable.

Reading and writing the protobuf files needs the `onnx` package (`pip install 'cnnkit[onnx]'`); it is
imported only when one of these functions is called.
"""

from cnnkit.onnx.export import export
from cnnkit.onnx.importer import OnnxModel, build_model
from cnnkit.onnx.load import load
from cnnkit.onnx.registry import UnsupportedOnnxError, supported_ops
from cnnkit.onnx.trace import ExportError

__all__ = ["ExportError", "OnnxModel", "UnsupportedOnnxError", "build_model", "export", "load", "supported_ops"]
