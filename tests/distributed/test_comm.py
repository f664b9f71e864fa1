"""cnnkit.distributed.comm: in-place all_reduce and broadcast on NumPy buffers across 2 ranks; input checks."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.distributed import comm
from tests.distributed.conftest import rank_info


@pytest.mark.parametrize("rank", [0, 1])
def test_every_rank_holds_the_reduced_and_broadcast_values(basics, rank):
    results = rank_info(basics, rank)["communication"]
    assert rank_info(basics, rank)["world"] == 2
    assert results["sum"] == [2.0, 1.0, 10.0]  # [1, r, 10r] summed over r = 0, 1
    assert results["max"] == [1, 0]  # max of [r, -r]
    assert results["async"] == [2.0, 4.0]  # [r + 0.5, 2] summed, through Work.wait()
    assert results["broadcast"] == [7.0, 7.0, 7.0]  # rank 0's 7 + 0 everywhere
    assert results["json"] == {"from": 0, "values": [0, 1.5]}


def test_rank_before_init_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(comm._state, "comm", None)
    with pytest.raises(RuntimeError, match=r"call cnnkit.distributed.init\(\) first"):
        comm.rank()


def test_buffers_must_be_contiguous_arrays():
    with pytest.raises(ValueError, match="C-contiguous"):
        comm._buffer(np.zeros((4, 4))[:, ::2], "all_reduce")
    with pytest.raises(TypeError, match="expected a NumPy array or cnnkit Tensor, got list"):
        comm._buffer([1.0, 2.0], "broadcast")
