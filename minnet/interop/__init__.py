"""Moving a minnet model to other tools, and back (docs/moving-on.md).

- :mod:`minnet.interop.torch`: :func:`to_torch` and :func:`from_torch` (models), :func:`optimizer_to_torch` and
  :func:`optimizer_from_torch` (optimizer state), :func:`loss_to_torch`, with PyTorch (the ``torch`` extra).
- :mod:`minnet.interop.onnx`: :func:`export_onnx`, a model as an ONNX file for ONNX runtimes (the ``onnx`` extra).

Nothing here imports PyTorch or onnx until a function is called.
"""

from .onnx import export_onnx
from .torch import from_torch, loss_to_torch, optimizer_from_torch, optimizer_to_torch, to_torch

__all__ = ["export_onnx", "from_torch", "loss_to_torch", "optimizer_from_torch", "optimizer_to_torch", "to_torch"]
