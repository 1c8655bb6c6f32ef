"""pytest base classes: every check of check_layer as its own test item."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from .checks import CheckReport, check_layer, check_loss
from .values import VALUES


class _CheckCase:
    """Shared machinery: one ``test_*`` method per check, each running only that check."""

    input_shape: ClassVar[tuple[int, ...]]
    batch_sizes: ClassVar[tuple[int, ...] | None] = None
    modes: ClassVar[tuple[str, ...]] = ("train", "eval")
    values: ClassVar[tuple[str, ...]] = VALUES
    tolerance: ClassVar[float] = 1e-6

    def _factory(self, attribute: str) -> Callable[..., Any]:
        factory: Callable[..., Any] | staticmethod[..., Any] | None = inspect.getattr_static(self, attribute, None)
        if factory is None:
            raise TypeError(f"{type(self).__name__} must set {attribute} (a class or a function building one)")
        if isinstance(factory, staticmethod):
            return factory.__func__
        if inspect.isfunction(factory) and list(inspect.signature(factory).parameters)[:1] == ["self"]:
            return factory.__get__(self)
        return factory

    def run_checks(self, names: list[str]) -> CheckReport:
        raise NotImplementedError

    def test_backward_before_forward(self) -> None:
        report = self.run_checks(["backward_before_forward"])
        assert report, report

    def test_forward(self) -> None:
        report = self.run_checks(["forward"])
        assert report, report

    def test_input_unchanged(self) -> None:
        report = self.run_checks(["input_unchanged"])
        assert report, report

    def test_gradient_shapes(self) -> None:
        report = self.run_checks(["gradient_shapes"])
        assert report, report

    def test_repeat_backward(self) -> None:
        report = self.run_checks(["repeat_backward"])
        assert report, report

    def test_accumulation(self) -> None:
        report = self.run_checks(["accumulation"])
        assert report, report

    def test_input_gradient(self) -> None:
        report = self.run_checks(["input_gradient"])
        assert report, report

    def test_parameter_gradient(self) -> None:
        report = self.run_checks(["parameter_gradient"])
        assert report, report

    def test_joint_gradient(self) -> None:
        report = self.run_checks(["joint_gradient"])
        assert report, report

    def test_parameters_registered(self) -> None:
        report = self.run_checks(["parameters_registered"])
        assert report, report


class LayerTestCase(_CheckCase):
    """Subclass it in a test module to get every check of :func:`check_layer`
    as a separate pytest item::

        class TestTanh(LayerTestCase):
            make_layer = Tanh          # a class, or staticmethod(lambda: Tanh())
            input_shape = (4, 3)

    Optional class attributes: ``batch_sizes``, ``modes``, ``values`` (the
    parameter values checked at, ``("initial", "drawn")``), ``tolerance``, and
    ``make_input`` (``make_input(rng, shape)``; a staticmethod; integers for a
    layer of integer input; a tuple for a layer of several inputs, such as an
    LSTM's ``(x, (h_0, c_0))``, see :func:`check_layer`).
    """

    make_input: ClassVar[Any] = None

    def run_checks(self, names: list[str]) -> CheckReport:
        make_input = self._factory("make_input") if self.make_input is not None else None
        return check_layer(
            self._factory("make_layer"),
            self.input_shape,
            batch_sizes=self.batch_sizes,
            modes=self.modes,
            tolerance=self.tolerance,
            make_input=make_input,
            checks=names,
            values=self.values,
        )


class LossTestCase(_CheckCase):
    """Like :class:`LayerTestCase`, for a loss: set ``make_loss``, ``input_shape``
    (the prediction's) and optionally ``make_target`` (``make_target(rng, shape)``)."""

    make_target: ClassVar[Any] = None
    make_input: ClassVar[Any] = None

    def run_checks(self, names: list[str]) -> CheckReport:
        make_target = self._factory("make_target") if self.make_target is not None else None
        make_input = self._factory("make_input") if self.make_input is not None else None
        return check_loss(
            self._factory("make_loss"),
            self.input_shape,
            make_target,
            batch_sizes=self.batch_sizes,
            modes=self.modes,
            tolerance=self.tolerance,
            make_input=make_input,
            checks=names,
            values=self.values,
        )
