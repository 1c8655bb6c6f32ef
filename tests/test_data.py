"""DataLoader: batches, shuffling with a seed, drop_last, and no copy of the data set."""

import tracemalloc

import numpy as np
import pytest

from minnet import DataLoader


def test_batches_in_order_are_views():
    X, Y = np.arange(20.0).reshape(10, 2), np.arange(10)
    batches = list(DataLoader(X, Y, batch_size=4))
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    assert np.array_equal(np.concatenate([yb for _, yb in batches]), Y)
    assert all(np.shares_memory(xb, X) for xb, _ in batches)


def test_drop_last_and_len():
    X = np.zeros((10, 1))
    assert len(DataLoader(X, batch_size=4)) == 3
    assert len(DataLoader(X, batch_size=4, drop_last=True)) == 2
    assert [len(b) for (b,) in DataLoader(X, batch_size=4, drop_last=True, shuffle=True, rng=0)] == [4, 4]
    assert len(DataLoader(X, batch_size=10, drop_last=True)) == 1
    assert len(DataLoader(X, batch_size=11, drop_last=True)) == 0


def test_shuffle_covers_every_sample_once_and_keeps_pairs():
    X, Y = np.arange(23.0)[:, None] * 10, np.arange(23)
    loader = DataLoader(X, Y, batch_size=5, shuffle=True, rng=1)
    seen = []
    for xb, yb in loader:
        assert np.array_equal(xb[:, 0], yb * 10)  # rows stay paired
        seen.extend(yb.tolist())
    assert sorted(seen) == list(range(23))
    assert seen != list(range(23))


def test_shuffle_is_new_each_epoch_and_reproducible_from_a_seed():
    Y = np.arange(50)

    def epochs(loader):
        return [np.concatenate([yb for (yb,) in loader]).tolist() for _ in range(3)]

    first = epochs(DataLoader(Y, batch_size=8, shuffle=True, rng=7))
    assert first == epochs(DataLoader(Y, batch_size=8, shuffle=True, rng=7))
    assert first[0] != first[1] != first[2]
    assert first != epochs(DataLoader(Y, batch_size=8, shuffle=True, rng=8))
    generator = np.random.default_rng(7)
    assert epochs(DataLoader(Y, batch_size=8, shuffle=True, rng=generator)) == first


def test_shuffled_epoch_never_copies_the_data_set():
    """Only an index permutation and one batch at a time: far below the data's 8 MB."""
    X = np.ones((20_000, 50))
    loader = DataLoader(X, batch_size=32, shuffle=True, rng=0)
    tracemalloc.start()
    try:
        for (xb,) in loader:
            assert xb.shape[1] == 50
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < X.nbytes / 20, peak


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"same length.*\[3, 4\]"):
        DataLoader(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(np.zeros(3), batch_size=0)
    with pytest.raises(ValueError, match="at least one array"):
        DataLoader()
    with pytest.raises(ValueError, match="scalar"):
        DataLoader(np.float64(1.0))
