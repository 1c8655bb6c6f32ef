"""Exchanging models with other frameworks.

- :mod:`minnet.interop.torch`: :func:`to_torch` and :func:`from_torch` (models), :func:`optimizer_to_torch` and
  :func:`optimizer_from_torch` (optimizer state), :func:`loss_to_torch`, with PyTorch (the ``torch`` extra).

Nothing here imports PyTorch until a function is called.
"""

from .torch import from_torch, loss_to_torch, optimizer_from_torch, optimizer_to_torch, to_torch

__all__ = ["from_torch", "loss_to_torch", "optimizer_from_torch", "optimizer_to_torch", "to_torch"]
