"""Moving a minnet model to other tools: ONNX files for ONNX runtimes (:func:`export_onnx`)."""

from .onnx import export_onnx

__all__ = ["export_onnx"]
