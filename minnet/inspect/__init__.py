r"""Seeing backpropagation: a model's summary, a trace of every chain-rule step,
Jacobians built from backward, the health of a batch, and what the caches cost.

- :func:`summarize` (``model.summary(input_shape)``): the layers, their output
  shapes, parameter counts and caches.
- :func:`explain`: one forward and backward pass, one row per chain-rule step
  in the order backward runs, from the loss to the input.
- :func:`jacobian`: the full Jacobian of a layer by one backward per unit
  vector, beside the finite-difference Jacobian.
- :func:`health` (``model.health(X, Y)``): saturated and dead units,
  update/weight ratios, the largest logit, overflow.
- :func:`cache_report` (``model.cache_report()``): the arrays each layer holds
  for its backward, with shapes and bytes.
- :mod:`~minnet.inspect.graph` (``minnet.plot.graph``): the layer graph drawn by
  Graphviz, with shapes, norms and gradients.
- :mod:`~minnet.inspect.html` (``trace.to_html(path)``): a page to step
  through a pass in the browser.
"""

from .caches import CacheEntry, CacheReport, cache_report
from .gradient_health import Health, LayerHealth, ParamHealth, health
from .jacobians import JacobianPair, JacobianResult, jacobian
from .summary import Summary, SummaryRow, summarize
from .trace import ParamGrad, Trace, TraceRow, ValueGrad, explain

__all__ = [
    "CacheEntry",
    "CacheReport",
    "Health",
    "JacobianPair",
    "JacobianResult",
    "LayerHealth",
    "ParamGrad",
    "ParamHealth",
    "Summary",
    "SummaryRow",
    "Trace",
    "TraceRow",
    "ValueGrad",
    "cache_report",
    "explain",
    "health",
    "jacobian",
    "summarize",
]
