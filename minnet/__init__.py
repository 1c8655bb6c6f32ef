"""minnet: a small object-oriented neural-network framework on numpy.

Every layer has a ``forward`` that caches what its derivative needs and a
``backward`` that applies its local derivative; containers chain them.
"""

from .activations import Sigmoid
from .containers import Sequential
from .data import DataLoader
from .errors import BackwardBeforeForwardError, LoadError
from .gradcheck import GradcheckResult, gradcheck
from .layer import Layer
from .layers import Linear
from .losses import Loss, MSELoss
from .optim import SGD, Adam, AdamW, Optimizer, RMSprop
from .parameter import Parameter
from .serialization import load, save
from .training import Callback, EarlyStopping, History, ModelCheckpoint, evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    "Adam",
    "AdamW",
    "Callback",
    "DataLoader",
    "EarlyStopping",
    "History",
    "LoadError",
    "ModelCheckpoint",
    "evaluate",
    "fit",
    "load",
    "predict",
    "save",
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
