"""minnet: a small object-oriented neural-network framework on numpy.

Every layer has a ``forward`` that caches what its derivative needs and a
``backward`` that applies its local derivative; containers chain them.
"""

from .activations import Sigmoid
from .containers import Sequential
from .errors import BackwardBeforeForwardError, LoadError
from .gradcheck import GradcheckResult, gradcheck
from .layer import Layer
from .layers import Linear
from .losses import Loss, MSELoss
from .optim import SGD, Adam, AdamW, Optimizer, RMSprop
from .parameter import Parameter

__version__ = "0.1.0"

__all__ = [
    "Adam",
    "AdamW",
    "LoadError",
    "RMSprop",
    "BackwardBeforeForwardError",
    "GradcheckResult",
    "Layer",
    "Linear",
    "Loss",
    "MSELoss",
    "Optimizer",
    "Parameter",
    "SGD",
    "Sequential",
    "Sigmoid",
    "gradcheck",
]
