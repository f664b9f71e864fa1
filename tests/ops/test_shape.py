"""Shape ops: reshape, permute, indexing, cat/stack, split, squeeze, expand, repeat."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
from tests.gradcheck import check_gradients, compare_with_torch, requires_torch

CASES = {
    "reshape": (lambda t: t.reshape(4, 6), lambda t: t.reshape(4, 6)),
    "view_infer": (lambda t: t.view(-1, 3), lambda t: t.view(-1, 3)),
    "flatten": (lambda t: t.flatten(1), lambda t: t.flatten(1)),
    "transpose": (lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2)),
    "permute": (lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "slice": (lambda t: t[:, 1:, ::2], lambda t: t[:, 1:, ::2]),
    "int_index": (lambda t: t[1, :, -1], lambda t: t[1, :, -1]),
    "fancy_repeat": (lambda t: t[:, [0, 0, 2]], lambda t: t[:, [0, 0, 2]]),
    "bool_mask": (lambda t: t[t > 0], lambda t: t[t > 0]),
    "unsqueeze": (lambda t: t.unsqueeze(1), lambda t: t.unsqueeze(1)),
    "squeeze": (lambda t: t[:, :1].squeeze(1), lambda t: t[:, :1].squeeze(1)),
    "expand": (lambda t: t[:, :1].expand(2, 5, 4), lambda t: t[:, :1].expand(2, 5, 4)),
    "repeat": (lambda t: t.repeat(2, 1, 3), lambda t: t.repeat(2, 1, 3)),
    "T": (lambda t: t[0].T, lambda t: t[0].T),
}


@pytest.mark.parametrize("name", CASES)
def test_shape_op_gradients(name, rng):
    check_gradients(CASES[name][0], rng.standard_normal((2, 3, 4)))


@requires_torch
@pytest.mark.parametrize("name", CASES)
def test_shape_op_matches_torch(name, rng):
    compare_with_torch(*CASES[name], rng.standard_normal((2, 3, 4)).astype(np.float32))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack_gradients(dim, rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    check_gradients(lambda x, y: cnnkit.cat([x, y, x], dim=dim), a, b)
    check_gradients(lambda x, y: cnnkit.stack([x, y], dim=dim), a, b)


def test_split_and_chunk_gradients(rng):
    x = rng.standard_normal((7, 2))
    check_gradients(lambda t: t.split(3)[2] * 2 + t.split(3)[0].sum(), x)
    check_gradients(lambda t: t.chunk(2, dim=0)[1], x)
    assert [p.shape[0] for p in cnnkit.tensor(x).split([2, 5])] == [2, 5]


def test_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(2, 3\)"):
        cnnkit.zeros(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"cat: shapes \(2, 3\) and \(2, 4\) differ outside dim 0"):
        cnnkit.cat([cnnkit.zeros(2, 3), cnnkit.zeros(2, 4)])
    with pytest.raises(ValueError, match="stack: every tensor must have the same shape"):
        cnnkit.stack([cnnkit.zeros(2), cnnkit.zeros(3)])
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        cnnkit.zeros(2, 3)[5]
