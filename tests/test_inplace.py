"""minnet._inplace: ``out += a @ b`` and ``out += s * a`` in blocks of rows, for Linear's weight gradient
and SGD's step: the same results as the one-line forms, without a temporary of the whole array."""

import tracemalloc

import numpy as np
import pytest

from minnet import _inplace
from minnet._inplace import add_product, add_scaled


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 3 rows of 8 float64 values, so that small arrays take several (and a last, shorter) block."""
    monkeypatch.setattr(_inplace, "BLOCK_BYTES", 3 * 8 * 8)


@pytest.mark.parametrize("rows", [1, 3, 7, 9])
def test_add_product_equals_the_one_line_form(small_blocks, rows):
    rng = np.random.default_rng(rows)
    a, b = rng.standard_normal((rows, 5)), rng.standard_normal((5, 8))
    start = rng.standard_normal((rows, 8))
    out = start.copy()
    add_product(out, a, b)
    np.testing.assert_allclose(out, start + a @ b, rtol=1e-14, atol=1e-14)


def test_add_product_reads_a_transposed_view(small_blocks):
    """Linear passes xᵀ, a view: each block of its rows is a block of x's columns."""
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((4, 10)), rng.standard_normal((4, 8))
    out = np.zeros((10, 8))
    add_product(out, x.T, g)
    np.testing.assert_allclose(out, x.T @ g, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("shape", [(), (5,), (7, 8), (4, 3, 2, 8)])
def test_add_scaled_equals_the_one_line_form(small_blocks, shape):
    rng = np.random.default_rng(len(shape))
    start, a = rng.standard_normal(shape), rng.standard_normal(shape)
    out = np.array(start)
    add_scaled(out, -0.3, a)
    assert np.array_equal(out, start - 0.3 * a)  # the same operations, element by element


def test_the_temporary_is_one_block(monkeypatch):
    """A 2 MiB update with 256 KiB blocks: the peak of traced memory stays near one block, where the one-line
    forms make a temporary of the whole 2 MiB."""
    monkeypatch.setattr(_inplace, "BLOCK_BYTES", 256 << 10)
    rng = np.random.default_rng(0)
    out, a, b = np.zeros((512, 512)), rng.standard_normal((512, 64)), rng.standard_normal((64, 512))
    c = rng.standard_normal((512, 512))
    for update in (lambda: add_product(out, a, b), lambda: add_scaled(out, 0.5, c)):
        tracemalloc.start()
        try:
            update()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak <= 2 * (256 << 10), f"peak {peak} bytes for a 256 KiB block"
