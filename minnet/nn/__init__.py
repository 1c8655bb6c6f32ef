"""The layers: the :class:`Layer` base class and one module per family of layers.

- :mod:`minnet.nn.layer`: :class:`Layer`, the base class (the walk of the layer
  tree, the validation wrappers around ``forward`` and ``backward``, hooks,
  modes, saving and loading state);
- :mod:`minnet.nn.linear`: :class:`Linear`, :class:`Identity`;
- :mod:`minnet.nn.activation`: the activations;
- :mod:`minnet.nn.conv`: :class:`Conv1d`, :class:`Conv2d`;
- :mod:`minnet.nn.embedding`: :class:`Embedding`;
- :mod:`minnet.nn.dropout`, :mod:`minnet.nn.flatten`;
- :mod:`minnet.nn.normalization`: :class:`BatchNorm1d`, :class:`BatchNorm2d`, :class:`LayerNorm`;
- :mod:`minnet.nn.pooling`: :class:`MaxPool2d`, :class:`AvgPool2d`;
- :mod:`minnet.nn.attention`: :class:`MultiheadAttention`;
- :mod:`minnet.nn.recurrent`: the cells :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`,
  and :class:`RNN`, :class:`LSTM`, :class:`GRU` over a sequence;
- :mod:`minnet.nn.container`: :class:`Sequential`, :class:`Residual`, :class:`Concat`;
- :mod:`minnet.nn.loss`: :class:`Loss` and the losses.
"""

from .activation import (
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .attention import MultiheadAttention
from .container import Concat, Residual, Sequential
from .conv import Conv1d, Conv2d
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .layer import Layer
from .linear import Identity, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
)
from .module import HookHandle, Module
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import AvgPool2d, MaxPool2d
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [
    "ELU",
    "GELU",
    "GRU",
    "LSTM",
    "RNN",
    "SELU",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Concat",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRUCell",
    "Hardsigmoid",
    "Hardtanh",
    "HookHandle",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LSTMCell",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "MultiMarginLoss",
    "MultiheadAttention",
    "NLLLoss",
    "RNNCell",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]
