"""The same networks in PyTorch on the CPU, and scikit-learn's MLPClassifier, used only when installed.

``load_torch()`` and ``load_sklearn()`` return ``None`` when the package is missing; the report then says
"missing (not installed)".
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import numpy as np
from conv_nets import CNN, RELU, Conv, Dense, Norm, Pool
from recurrent_nets import RecurrentNet
from workloads import MLP, Weights


def load_torch() -> ModuleType | None:
    try:
        import torch
    except ImportError:
        return None
    return torch


def load_sklearn() -> ModuleType | None:
    try:
        import sklearn
        import sklearn.neural_network
    except ImportError:
        return None
    return sklearn


def torch_model(torch: Any, net: MLP | CNN, weights: Weights) -> Any:
    if isinstance(net, CNN):
        return torch_cnn(torch, net, weights)
    activation = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[net.activation]
    layers = []
    for i, (W, b) in enumerate(weights):
        linear = torch.nn.Linear(*W.shape, dtype=getattr(torch, net.dtype))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T.copy()))  # PyTorch's weight is (out, in)
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if net.activated(i):
            layers.append(activation())
    return torch.nn.Sequential(*layers)


def torch_cnn(torch: Any, net: CNN, weights: Weights) -> Any:
    """The same layers in ``torch.nn``; a convolution's weight shares minnet's layout, a linear layer's is the
    transpose."""
    dtype, params, layers = getattr(torch, net.dtype), iter(weights), []
    for spec in net.layers:
        if isinstance(spec, Conv):
            layer = torch.nn.Conv2d(spec.in_channels, spec.out_channels, spec.kernel, padding=spec.padding, dtype=dtype)
        elif isinstance(spec, Dense):
            layer = torch.nn.Linear(spec.in_features, spec.out_features, dtype=dtype)
        elif isinstance(spec, Norm):
            layer = torch.nn.BatchNorm2d(spec.channels, dtype=dtype)
        elif isinstance(spec, Pool):
            layer = torch.nn.MaxPool2d(spec.kernel)
        else:
            layer = torch.nn.ReLU() if spec == RELU else torch.nn.Flatten()
        if isinstance(spec, (Conv, Dense)):
            W, b = next(params)
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(W if isinstance(spec, Conv) else W.T.copy()))
                layer.bias.copy_(torch.from_numpy(b))
        layers.append(layer)
    return torch.nn.Sequential(*layers)


def torch_optimizer(torch: Any, net: MLP | CNN, model: Any) -> Any:
    if net.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=net.lr, eps=net.adam_eps)
    return torch.optim.SGD(model.parameters(), lr=net.lr, momentum=0.9 if net.optimizer == "momentum" else 0.0)


def torch_loss(torch: Any, net: MLP | CNN, out: Any, target: Any) -> Any:
    if net.loss == "mse":  # minnet.MSELoss's default reduction, 1/(2N) Σ (Y − ŷ)²
        return ((out - target) ** 2).sum() / (2 * out.shape[0])
    return torch.nn.functional.cross_entropy(out, target)


class TorchStep:
    """One training step, PyTorch's way: zero_grad, forward, loss, backward, step."""

    name = "PyTorch"

    def __init__(self, torch: Any, net: MLP | CNN, weights: Weights, X: np.ndarray, Y: np.ndarray) -> None:
        self.torch, self.net = torch, net
        self.model = torch_model(torch, net, weights)
        self.optimizer = torch_optimizer(torch, net, self.model)
        self.X, self.Y = torch.from_numpy(X.copy()), torch.from_numpy(Y.copy())

    def step(self) -> Any:
        self.optimizer.zero_grad()
        loss = torch_loss(self.torch, self.net, self.model(self.X), self.Y)
        loss.backward()
        self.optimizer.step()
        return loss  # a tensor; the checks read it with float()

    def first_weight(self) -> np.ndarray:
        """In minnet's layout: a linear layer's weight transposed, a convolution's as it is."""
        weight = self.model[0].weight.detach().numpy()
        return (weight.T if weight.ndim == 2 else weight).copy()


class TorchRecurrentStep:
    """One training step of ``torch.nn.LSTM``/``GRU`` and a ``Linear`` head on the last step's output, with the
    weights copied in (``weight_ih_l{k}`` and ``weight_hh_l{k}`` transposed, the biases as they are)."""

    name = "PyTorch"

    def __init__(
        self, torch: Any, net: RecurrentNet, weights: list[tuple[np.ndarray, ...]], X: np.ndarray, Y: np.ndarray
    ) -> None:
        self.torch, dtype = torch, getattr(torch, net.dtype)
        layer_class = torch.nn.LSTM if net.cell == "lstm" else torch.nn.GRU
        self.rnn = layer_class(net.input_size, net.hidden, net.num_layers, dtype=dtype)
        self.head = torch.nn.Linear(net.hidden, net.classes, dtype=dtype)
        with torch.no_grad():
            for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(weights[:-1]):
                getattr(self.rnn, f"weight_ih_l{k}").copy_(torch.from_numpy(w_ih.T.copy()))
                getattr(self.rnn, f"weight_hh_l{k}").copy_(torch.from_numpy(w_hh.T.copy()))
                getattr(self.rnn, f"bias_ih_l{k}").copy_(torch.from_numpy(b_ih))
                getattr(self.rnn, f"bias_hh_l{k}").copy_(torch.from_numpy(b_hh))
            W, b = weights[-1]
            self.head.weight.copy_(torch.from_numpy(W.T.copy()))
            self.head.bias.copy_(torch.from_numpy(b))
        self.optimizer = torch.optim.SGD([*self.rnn.parameters(), *self.head.parameters()], lr=net.lr)
        self.X, self.Y = torch.from_numpy(X.copy()), torch.from_numpy(Y.copy())

    def step(self) -> Any:
        self.optimizer.zero_grad()
        output, _ = self.rnn(self.X)
        loss = self.torch.nn.functional.cross_entropy(self.head(output[-1]), self.Y)
        loss.backward()
        self.optimizer.step()
        return loss

    def first_weight(self) -> np.ndarray:
        """``weight_ih_l0`` in minnet's layout, ``(input_size, G·hidden)``."""
        return self.rnn.weight_ih_l0.detach().numpy().T.copy()


class TorchEpoch:
    """One epoch of the usual PyTorch loop over shuffled mini-batches (same batch size as minnet's fit)."""

    name = "PyTorch"

    def __init__(self, torch: Any, net: MLP, weights: Weights, X: np.ndarray, y: np.ndarray, shuffle: bool) -> None:
        self.torch, self.net, self.shuffle = torch, net, shuffle
        self.model = torch_model(torch, net, weights)
        self.optimizer = torch_optimizer(torch, net, self.model)
        self.X, self.y = torch.from_numpy(X.copy()), torch.from_numpy(y.copy())
        self.generator = torch.Generator().manual_seed(0)

    def epoch(self) -> float:
        torch, n, batch = self.torch, len(self.X), self.net.batch
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        total = 0.0
        for start in range(0, n, batch):
            index = order[start : start + batch]
            xb, yb = self.X[index], self.y[index]
            self.optimizer.zero_grad()
            loss = torch_loss(torch, self.net, self.model(xb), yb)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(index)
        return total / n

    def first_weight(self) -> np.ndarray:
        return self.model[0].weight.detach().numpy().T.copy()


class SklearnEpoch:
    """One epoch of ``MLPClassifier.fit`` with ``max_iter=1``, from the given weights.

    The classifier is fitted once to set itself up (its classes, its layers), then its weights are
    overwritten with the workload's; with ``warm_start=True`` each later ``fit`` runs one epoch from
    the weights it holds, with a fresh Adam state as every call of ``fit`` has. ``alpha=0`` turns off
    the L2 penalty minnet does not apply. Its Adam folds the bias corrections into the step size, so
    its ε acts as ε·√(1 − β₂ᵗ) does in PyTorch's rule: where a gradient is near ε the steps differ (by
    a few percent of the largest step, after one epoch of the digits); the equality check therefore
    runs every implementation with ε = 1e-15, where the two rules agree.

    ``max_iter=1`` makes scikit-learn warn that the optimization has not converged: that
    ConvergenceWarning is expected here and ignored; any other warning is shown.
    """

    name = "MLPClassifier"

    def __init__(self, net: MLP, weights: Weights, X: np.ndarray, y: np.ndarray, shuffle: bool) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        if net.optimizer != "adam" or len(net.sizes) != 3 or net.activation != "relu":
            raise ValueError("SklearnEpoch: a one-hidden-layer ReLU network trained with Adam")
        self.convergence_warning = ConvergenceWarning
        self.X, self.y = X.copy(), y.copy()
        self.classifier = MLPClassifier(
            hidden_layer_sizes=(net.sizes[1],),
            activation="relu",
            solver="adam",
            alpha=0.0,
            batch_size=net.batch,
            learning_rate_init=net.lr,
            epsilon=net.adam_eps,
            max_iter=1,
            shuffle=shuffle,
            random_state=0,
            warm_start=True,
        )
        self.epoch()  # sets up classes_, coefs_ and intercepts_
        for (W, b), coef, intercept in zip(weights, self.classifier.coefs_, self.classifier.intercepts_, strict=True):
            coef[...] = W
            intercept[...] = b

    def epoch(self) -> float:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=self.convergence_warning)  # max_iter=1, on purpose
            self.classifier.fit(self.X, self.y)
        return float(self.classifier.loss_)

    def first_weight(self) -> np.ndarray:
        return np.array(self.classifier.coefs_[0])
