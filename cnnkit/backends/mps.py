"""`cnnkit.backends.mps`: Apple's Metal backend is not available (cnnkit runs on the CPU)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
