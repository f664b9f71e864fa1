"""`cnnkit.backends.cudnn`: `benchmark` and `deterministic` can be set, as scripts do; there is no cuDNN.

cnnkit's CPU kernels are deterministic whatever these say.
"""

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    return None
