"""minnet: a small object-oriented neural-network framework on numpy.

Every layer has a ``forward`` that caches what its derivative needs and a
``backward`` that applies its local derivative; containers chain them.
"""

from . import init
from .activations import ELU, GELU, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .containers import Concat, Residual, Sequential
from .data import DataLoader
from .errors import BackwardBeforeForwardError, LoadError
from .explain import explain, jacobian
from .gradcheck import GradcheckResult, gradcheck
from .layer import HookHandle, Layer
from .layers import BatchNorm1d, Dropout, Flatten, Linear
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
    NLLLoss,
)
from .optim import SGD, Adam, AdamW, Optimizer, RMSprop
from .parameter import Parameter
from .serialization import load, save
from .training import Callback, EarlyStopping, History, ModelCheckpoint, evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    "Adam",
    "AdamW",
    "BCELoss",
    "BCEWithLogitsLoss",
    "Callback",
    "DataLoader",
    "EarlyStopping",
    "History",
    "LoadError",
    "ModelCheckpoint",
    "RMSprop",
    "BackwardBeforeForwardError",
    "BatchNorm1d",
    "Concat",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Flatten",
    "GELU",
    "GradcheckResult",
    "HookHandle",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "Layer",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "Loss",
    "MSELoss",
    "NLLLoss",
    "Optimizer",
    "Parameter",
    "ReLU",
    "Residual",
    "SGD",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "evaluate",
    "explain",
    "fit",
    "gradcheck",
    "init",
    "jacobian",
    "load",
    "predict",
    "save",
]
