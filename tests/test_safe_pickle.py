"""The allow-list unpickler on plain NumPy pickles (CIFAR's python batches): arrays rebuilt, the rest refused."""

from __future__ import annotations

import collections
import pickle

import numpy as np
import pytest

from cnnkit.safe_pickle import UnsafePickleError, load_numpy_pickle


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numeric_arrays_and_containers_come_back(protocol):
    obj = {"data": np.arange(12, dtype=np.uint8).reshape(3, 4), "labels": [1, 2, 3], "name": "batch 1",
           "raw": b"\x00\xff", "f": np.asfortranarray(np.arange(6, dtype=">f8").reshape(2, 3)),
           "scalar": np.float32(2.5), "ordered": collections.OrderedDict(a=1)}
    back = load_numpy_pickle(pickle.dumps(obj, protocol=protocol))
    np.testing.assert_array_equal(back["data"], obj["data"])
    assert back["data"].dtype == np.uint8 and back["labels"] == [1, 2, 3] and back["name"] == "batch 1"
    np.testing.assert_array_equal(back["f"], obj["f"])
    assert back["raw"] == b"\x00\xff" and back["scalar"] == np.float32(2.5) and back["ordered"] == {"a": 1}


def test_object_arrays_and_other_classes_are_refused_by_name():
    with pytest.raises(UnsafePickleError, match="refused numpy dtype 'O8'|refused numpy dtype"):
        load_numpy_pickle(pickle.dumps({"x": np.array([{}, 1], dtype=object)}, protocol=2), "obj.pkl")
    with pytest.raises(UnsafePickleError, match=r"evil: refused to load collections\.Counter"):
        load_numpy_pickle(pickle.dumps(collections.Counter("ab")), "evil")


def test_truncated_array_data_is_refused():
    payload = pickle.dumps(np.arange(100, dtype=np.int64), protocol=2)
    cut = payload.replace(np.arange(100, dtype=np.int64).tobytes()[-16:], b"")
    with pytest.raises(UnsafePickleError):
        load_numpy_pickle(cut, "cut")
