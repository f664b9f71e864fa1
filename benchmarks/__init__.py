"""cnnkit's benchmark harness: cnnkit against PyTorch, in one process, interleaved, on the same inputs and weights.

`python -m benchmarks` (or `python benchmarks/run.py`) runs every workload; `--help` lists the options.

- `run`: the command line, the run loop and the load-average bookkeeping.
- `timing`: the interleaved warm-up / repeat / median timer.
- `threads`: sets NumPy's OpenBLAS and PyTorch to the same number of threads.
- `workloads_models`: whole-model training steps and inference (LeNet-5, ResNet-20, fashion_vgg).
- `workloads_ops`: single ops (conv2d, pooling, batch norm, cross-entropy), forward and forward+backward.
- `scaling`: the training step at batch 32 … 256, time per image.
- `memory`: peak resident memory of ResNet-20 training, each framework in its own subprocess.
- `twins`: the PyTorch twin of a cnnkit model (same layers, same weights).
- `report`: the result rows, the tables and the JSON file.

This package imports neither NumPy nor torch at import time, so that `run` can set the thread count first.
"""
