"""The shift demo's two models (about the same size, the CNN translation-tolerant by design) and its result table."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from cnnkit.demo.shift import ShiftResult, count_parameters, run_shift_demo, shift_cnn, shift_mlp


def test_parameter_counts_by_hand():
    # MLP: 784·37 + 37 + 37·10 + 10; CNN: (25·16 + 16) + (16·9·32 + 32) + (32·9·80 + 80) + (80·10 + 10)
    assert count_parameters(shift_mlp()) == 29_425 == 784 * 37 + 37 + 37 * 10 + 10
    assert count_parameters(shift_cnn()) == 28_986 == 416 + 4_640 + 23_120 + 810


def test_cnn_output_ignores_where_an_isolated_pattern_is():
    """A pattern moved by whole pooling cells (multiples of 4 px) gives the CNN exactly the same logits, as long
    as the units that see it stay clear of the border (a 20-pixel receptive field: hence the large canvas)."""
    cnnkit.manual_seed(0)
    model = shift_cnn()
    model.eval()
    image = np.zeros((1, 1, 72, 72), np.float32)
    image[0, 0, 28:32, 28:33] = np.random.default_rng(0).random((4, 5))
    moved = np.roll(image, (4, 8), axis=(2, 3))
    with cnnkit.no_grad():
        a, b = model(cnnkit.tensor(image)).numpy(), model(cnnkit.tensor(moved)).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_table_lists_each_shift_and_model():
    result = ShiftResult((0, 1), {"MLP": np.array([0.9, 0.5]), "CNN": np.array([0.88, 0.8])})
    assert result.table().splitlines() == [
        "shift       MLP       CNN",
        "    0    0.9000    0.8800",
        "    1    0.5000    0.8000",
    ]


@pytest.mark.parametrize("name", ["epochs", "train_size", "test_size"])
def test_sizes_must_be_positive(name):
    with pytest.raises(ValueError, match=f"--{name.replace('_', '-')} must be at least 1, got 0"):
        run_shift_demo(**{name: 0})
