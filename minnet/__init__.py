"""minnet: a small object-oriented neural-network framework on numpy.

Every layer has a ``forward`` that caches what its derivative needs and a
``backward`` that applies its local derivative; containers chain them.
"""

from . import init
from .errors import BackwardBeforeForwardError, LoadError
from .inspect import explain, jacobian
from .nn import (
    ELU,
    GELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    Concat,
    Conv1d,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    HookHandle,
    HuberLoss,
    Identity,
    L1Loss,
    Layer,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Loss,
    MaxPool2d,
    MSELoss,
    NLLLoss,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .optim import SGD, Adam, AdamW, Optimizer, RMSprop
from .parameter import Parameter
from .serialization import load, save
from .testing.gradient_check import GradcheckResult, gradcheck
from .training import Callback, DataLoader, EarlyStopping, History, ModelCheckpoint, evaluate, fit, predict

__version__ = "0.1.0"  # the one place of the version: pyproject.toml reads it (dynamic)

__all__ = [
    "ELU",
    "GELU",
    "SGD",
    "Adam",
    "AdamW",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BackwardBeforeForwardError",
    "BatchNorm1d",
    "BatchNorm2d",
    "Callback",
    "Concat",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "DataLoader",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "GradcheckResult",
    "History",
    "HookHandle",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "Layer",
    "LeakyReLU",
    "Linear",
    "LoadError",
    "LogSoftmax",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "ModelCheckpoint",
    "NLLLoss",
    "Optimizer",
    "Parameter",
    "RMSprop",
    "ReLU",
    "Residual",
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
__all__ += ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]  # minnet.nn.recurrent
