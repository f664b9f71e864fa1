"""cnnkit.utils.data: samplers, collation and the DataLoader against torch.utils.data; worker processes (seeds,
worker_init_fn, persistent workers, shared memory, errors naming the worker and the index, dead workers)."""

from __future__ import annotations

import collections
import os
import random

import numpy as np
import pytest

import cnnkit
from cnnkit.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    get_worker_info,
    random_split,
)
from cnnkit.utils.data.worker import generate_state
from tests.gradcheck import requires_torch


def as_numpy(obj):
    """A batch of either framework as NumPy arrays and plain containers (tuples as lists)."""
    if hasattr(obj, "numpy") and not isinstance(obj, np.ndarray):
        return obj.numpy()
    if isinstance(obj, cnnkit.Tensor):
        return obj.numpy()
    if isinstance(obj, dict):
        return {k: as_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [as_numpy(o) for o in obj]
    return obj


def assert_same(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b


class Squares(Dataset):
    """Item i: (float32 [i, i²], i), or a failure at `fail_at`."""

    def __init__(self, n: int = 10, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        if i == self.fail_at:
            raise ValueError(f"cannot read item {i}")
        return np.array([i, i * i], dtype=np.float32), i


class Dies(Squares):
    def __getitem__(self, i: int):
        if i == self.fail_at:
            os._exit(7)
        return super().__getitem__(i)


class SeedProbe(Dataset):
    """Item i: the worker's id and seed, then draws from random, NumPy's global generator and cnnkit's."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int):
        info = get_worker_info()
        return np.array([info.id if info else -1, info.seed if info else -1, random.getrandbits(31),
                         np.random.randint(2**31), cnnkit.randint(0, 2**31, (1,)).numpy()[0]], dtype=np.int64)


class Stream(IterableDataset):
    """0..n−1, split between workers by id."""

    def __init__(self, n: int = 11) -> None:
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (info.id, info.num_workers) if info is not None else (0, 1)
        return iter(range(start, self.n, step))


# ----------------------------------------------------------------- collation against torch
COLLATE_CASES = {
    "tuples of arrays and ints": [(np.full((2, 3), i, np.float32), i) for i in range(4)],
    "floats become float64": [0.5, 1.5, 2.5],
    "float64 arrays stay float64": [np.arange(3, dtype=np.float64) * i for i in range(2)],
    "dicts": [{"x": np.ones(2, np.float32) * i, "name": f"n{i}", "y": i} for i in range(3)],
    "lists and bools": [[i, True, "s"] for i in range(3)],
    "numpy scalars": [np.int32(i) for i in range(4)],
}


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_collate_matches_torch(case):
    from torch.utils.data import default_collate as torch_collate

    batch = COLLATE_CASES[case]
    assert_same(as_numpy(default_collate(batch)), as_numpy(torch_collate(batch)))


def test_default_collate_stacks_tensors_and_refuses_ragged_and_unknown():
    out = default_collate([cnnkit.tensor([1.0, 2.0]), cnnkit.tensor([3.0, 4.0])])
    np.testing.assert_array_equal(out.numpy(), [[1, 2], [3, 4]])
    with pytest.raises(RuntimeError, match=r"equal size.*\(2,\) at entry 0 and \(3,\) at entry 1"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="batch must contain tensors"):
        default_collate([object(), object()])


# ----------------------------------------------------------------- datasets and samplers against torch
@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize(("n", "lengths"), [(10, [0.3, 0.7]), (11, [0.5, 0.25, 0.25]), (7, [0.1, 0.9]), (9, [4, 5])])
def test_random_split_lengths_match_torch(n, lengths):
    import torch.utils.data as tud

    ours = random_split(Squares(n), lengths, generator=cnnkit.Generator().manual_seed(0))
    theirs = tud.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s.indices) == list(range(n))


def test_random_split_is_repeatable_with_a_generator_and_refuses_bad_lengths():
    a = random_split(Squares(20), [5, 15], generator=cnnkit.Generator().manual_seed(3))
    b = random_split(Squares(20), [5, 15], generator=cnnkit.Generator().manual_seed(3))
    assert a[0].indices == b[0].indices
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(Squares(20), [5, 10])


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize(("n", "batch_size", "drop_last"), [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)])
def test_batch_sampler_and_loader_order_match_torch(n, batch_size, drop_last):
    import torch.utils.data as tud

    ours = list(BatchSampler(SequentialSampler(range(n)), batch_size, drop_last))
    theirs = list(tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last))
    assert ours == theirs
    loader = DataLoader(Squares(n), batch_size=batch_size, drop_last=drop_last)
    torch_loader = tud.DataLoader(Squares(n), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(torch_loader)
    for got, want in zip(loader, torch_loader, strict=True):
        assert_same(as_numpy(got), as_numpy(want))


def test_random_samplers_visit_what_they_should():
    cnnkit.manual_seed(0)
    perm = list(RandomSampler(range(10)))
    assert sorted(perm) == list(range(10)) and perm != list(range(10))
    assert len(list(RandomSampler(range(10), num_samples=25))) == 25
    assert collections.Counter(RandomSampler(range(10), num_samples=25)).most_common(1)[0][1] == 3
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2}
    assert sorted(SubsetRandomSampler([5, 7, 9])) == [5, 7, 9]
    weighted = WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=cnnkit.Generator().manual_seed(1))
    counts = collections.Counter(weighted)
    assert counts[0] == 0 and 2.7 < counts[2] / counts[1] < 3.3
    assert sorted(WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False)) == [0, 1, 2]
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)


def test_shuffle_is_repeatable_under_manual_seed_and_differs_between_epochs():
    loader = DataLoader(Squares(12), batch_size=4, shuffle=True)
    cnnkit.manual_seed(5)
    first = [b[1].numpy().tolist() for b in loader]
    second = [b[1].numpy().tolist() for b in loader]
    cnnkit.manual_seed(5)
    assert [b[1].numpy().tolist() for b in loader] == first
    assert first != second and sorted(sum(first, [])) == list(range(12))


def test_concat_subset_tensor_datasets():
    x = cnnkit.tensor(np.arange(12, dtype=np.float32).reshape(6, 2))
    y = cnnkit.tensor(np.arange(6))
    tensors = TensorDataset(x, y)
    assert len(tensors) == 6 and tensors[2][1].item() == 2
    both = ConcatDataset([Subset(tensors, [4, 5]), Squares(3)])
    assert len(both) == 5 and both[1][1].item() == 5 and both[4][1] == 2 and both[-1][1] == 2
    assert len(tensors + Squares(2)) == 8
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(x, cnnkit.tensor(np.arange(5)))


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    {"num_workers": -1}, {"prefetch_factor": 2}, {"persistent_workers": True}, {"shuffle": True, "sampler": [0]},
    {"batch_sampler": [[0]], "batch_size": 2}, {"batch_size": None, "drop_last": True}, {"timeout": -1},
])
def test_argument_errors_match_torch(kwargs):
    import torch.utils.data as tud

    with pytest.raises(ValueError) as theirs:
        tud.DataLoader(Squares(4), **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(Squares(4), **kwargs)
    assert str(ours.value).split(";")[0].split(".")[0].lower() == str(theirs.value).split(";")[0].split(".")[0].lower()


def test_iterable_dataset_refuses_shuffle_and_batches_without_batch_size():
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)
    items = list(DataLoader(Stream(4), batch_size=None))  # no batching: items unchanged, as torch
    assert items == [0, 1, 2, 3]


# ----------------------------------------------------------------- worker processes
def test_generate_state_matches_torch_bit_for_bit():
    torch_worker = pytest.importorskip("torch.utils.data._utils.worker")
    for base_seed, worker_id in [(0, 0), (12345678901234, 3), (2**63 - 1, 1), (99, 7)]:
        assert generate_state(base_seed, worker_id) == torch_worker._generate_state(base_seed, worker_id)


def test_workers_give_the_same_batches_in_the_same_order_as_the_main_process():
    cnnkit.manual_seed(11)
    main = [as_numpy(b) for b in DataLoader(Squares(23), batch_size=4, shuffle=True)]
    cnnkit.manual_seed(11)
    workers = [as_numpy(b) for b in DataLoader(Squares(23), batch_size=4, shuffle=True, num_workers=2)]
    assert len(main) == len(workers) == 6
    for a, b in zip(main, workers, strict=True):
        assert_same(a, b)


def test_out_of_order_delivery_keeps_every_batch():
    batches = DataLoader(Squares(20), batch_size=3, num_workers=2, in_order=False, prefetch_factor=3)
    assert sorted(i for b in batches for i in b[1].numpy().tolist()) == list(range(20))


def test_worker_seeds_follow_torch_rule():
    loader = DataLoader(SeedProbe(), batch_size=2, num_workers=2, generator=cnnkit.Generator().manual_seed(4),
                        worker_init_fn=None)
    rows = np.concatenate([b.numpy() for b in loader])
    ids, seeds = rows[:, 0], rows[:, 1]
    assert ids.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    base = int(seeds[0])
    assert set(seeds[ids == 1].tolist()) == {base + 1}
    # each worker's first draw from random / NumPy / cnnkit is the one its seed gives
    random.seed(base + 1)
    assert rows[2, 2] == random.getrandbits(31)
    np.testing.assert_array_equal(rows[2, 3], np.random.RandomState(generate_state(base, 1)).randint(2**31))
    cnnkit.manual_seed(base)
    assert rows[0, 4] == cnnkit.randint(0, 2**31, (1,)).numpy()[0]
    # a generator seeded the same way gives the same base seed, hence the same worker streams
    again = np.concatenate([b.numpy() for b in DataLoader(SeedProbe(), batch_size=2, num_workers=2,
                                                       generator=cnnkit.Generator().manual_seed(4))])
    np.testing.assert_array_equal(again, rows)


class InitRecorder(Squares):
    def __getitem__(self, i: int):
        return np.array([os.getpid(), int(os.environ.get("CNNKIT_TEST_INIT", -1))]), i


def set_env(worker_id: int) -> None:
    os.environ["CNNKIT_TEST_INIT"] = str(100 + worker_id)


def test_worker_init_fn_and_persistent_workers():
    loader = DataLoader(InitRecorder(8), batch_size=2, num_workers=2, worker_init_fn=set_env,
                        persistent_workers=True)
    epochs = [np.concatenate([b[0].numpy() for b in loader]) for _ in range(2)]
    assert sorted(set(epochs[0][:, 1].tolist())) == [100, 101]
    assert set(epochs[0][:, 0].tolist()) == set(epochs[1][:, 0].tolist())  # same processes
    assert os.getpid() not in epochs[0][:, 0]
    fresh = DataLoader(InitRecorder(8), batch_size=2, num_workers=2)
    pids = [set(np.concatenate([b[0].numpy() for b in fresh])[:, 0].tolist()) for _ in range(2)]
    assert not pids[0] & pids[1]  # non-persistent: new processes each epoch


def test_iterable_dataset_with_workers_matches_torch_interleaving():
    tud = pytest.importorskip("torch.utils.data")

    class TorchStream(tud.IterableDataset):
        def __iter__(self):
            info = tud.get_worker_info()
            return iter(range(info.id, 11, info.num_workers))

    ours = [b.numpy().tolist() for b in DataLoader(Stream(11), batch_size=2, num_workers=2)]
    theirs = [b.tolist() for b in tud.DataLoader(TorchStream(), batch_size=2, num_workers=2)]
    assert ours == theirs


def test_worker_exception_names_the_worker_and_the_index():
    loader = DataLoader(Squares(10, fail_at=7), batch_size=2, num_workers=2)
    expected = r"worker process 1 \(while loading dataset index 7\)[\s\S]*cannot read item 7"
    with pytest.raises(ValueError, match=expected):
        list(loader)


def test_dead_worker_is_reported_with_its_indices():
    loader = DataLoader(Dies(10, fail_at=5), batch_size=2, num_workers=2)
    with pytest.raises(RuntimeError, match=r"worker 0 \(pid \d+\) exited unexpectedly with exit code 7 while "
                                           r"loading dataset indices \[4, 5\]"):
        list(loader)


class Slow(Squares):
    def __getitem__(self, i: int):
        import time

        time.sleep(3)
        return super().__getitem__(i)


def test_timeout_raises():
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        next(iter(DataLoader(Slow(4), batch_size=1, num_workers=1, timeout=0.5)))


def shm_blocks() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith("psm_")} if os.path.isdir("/dev/shm") else set()


def test_batches_travel_through_reused_shared_memory_and_none_is_left_behind(monkeypatch):
    from cnnkit.utils.data import shared

    answers = []
    receive = shared.BlockPool.receive

    def spy(self, worker, skeleton, name, created, lease):
        answers.append((name, created))
        return receive(self, worker, skeleton, name, created, lease)

    monkeypatch.setattr(shared.BlockPool, "receive", spy)
    before = shm_blocks()
    out = list(DataLoader(Squares(60), batch_size=3, num_workers=2))
    assert len(answers) == 20 and all(name is not None for name, _ in answers)
    assert sum(created for _, created in answers) < 10  # after the first batches, lent blocks are reused
    assert len({name for name, created in answers if not created}) <= 2 * 3  # (prefetch_factor + 1) per worker
    np.testing.assert_array_equal(out[2][0].numpy(), [[6, 36], [7, 49], [8, 64]])
    assert out[2][0].dtype == np.float32 and out[2][1].dtype == np.int64
    it = iter(DataLoader(Squares(30), batch_size=2, num_workers=2, prefetch_factor=4))
    next(it)
    it.shutdown()  # an epoch abandoned with batches in flight
    assert shm_blocks() <= before


def test_pin_memory_and_other_arguments_are_accepted():
    loader = DataLoader(Squares(4), batch_size=2, pin_memory=True, pin_memory_device="", num_workers=1,
                        multiprocessing_context="fork", prefetch_factor=1, timeout=30, in_order=True)
    assert [b[1].numpy().tolist() for b in loader] == [[0, 1], [2, 3]]


def test_persistent_workers_are_restarted_after_one_died():
    data = Dies(6, fail_at=3)
    loader = DataLoader(data, batch_size=2, num_workers=2, persistent_workers=True)
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(loader)
    data.fail_at = None  # new workers, started after the failure, copy the repaired dataset
    assert [b[1].numpy().tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]
