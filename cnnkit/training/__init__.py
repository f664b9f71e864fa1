"""Training: the run configuration and `train()` (run.py), one epoch and evaluation (loop.py), atomic
checkpoints (checkpoint.py), the per-epoch history (history.py), data sets and their normalisation
(datasets.py), and restoring a model from a run or checkpoint (restore.py)."""
