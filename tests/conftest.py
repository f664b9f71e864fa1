"""Shared fixtures: a seeded NumPy generator (oracle helpers live in tests/gradcheck.py)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
