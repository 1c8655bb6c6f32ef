"""Every case of the registry (tests/cases.py) through minnet.testing.check_layer / check_loss:
every check, in train and eval mode, at batch sizes N and 1."""

from __future__ import annotations

import pytest
from cases import layer_cases, loss_reductions

from minnet import BatchNorm1d
from minnet.testing import CHECKS, check_layer, check_loss


@pytest.mark.parametrize("case", layer_cases())
def test_layer_passes_the_kit(case):
    report = check_layer(case.build, case.input_shape, make_input=case.input_maker, batch_sizes=case.kit_batch_sizes)
    assert report, report
    assert {check.name for check in report.checks} == set(CHECKS)
    assert {check.mode for check in report.checks} == {"train", "eval"}
    batch_sizes = {check.batch_size for check in report.checks}
    assert set(case.kit_batch_sizes or (case.input_shape[0], 1)) <= batch_sizes


@pytest.mark.parametrize(("case", "reduction"), loss_reductions())
def test_loss_passes_the_kit(case, reduction):
    report = check_loss(
        lambda: case.build(reduction=reduction), case.pred_shape, case.make_target, make_input=case.make_input
    )
    assert report, report
    assert {check.name for check in report.checks} == set(CHECKS)
    assert {check.mode for check in report.checks} == {"train", "eval"}
    assert {check.batch_size for check in report.checks} == {case.pred_shape[0], 1}


def test_batchnorm_in_training_rejects_one_value_per_feature():
    """Why the (N, C) BatchNorm1d cases leave out N = 1: it is an error, as in PyTorch."""
    report = check_layer(lambda: BatchNorm1d(5), (1, 5), batch_sizes=(1,), modes=("train",))
    assert not report
    assert "more than 1 value per feature" in str(report)
    assert check_layer(lambda: BatchNorm1d(5), (1, 5), batch_sizes=(1,), modes=("eval",))
