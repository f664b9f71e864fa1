"""The global random number generator: `manual_seed` makes weight initialisation, dropout and shuffling repeatable."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset cnnkit's global generator; returns it, as torch.manual_seed returns its generator."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict:
    """The generator's full state as plain data (JSON-serialisable), for checkpoints."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    _generator.bit_generator.state = state
