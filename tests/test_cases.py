"""The registry of test cases (tests/cases.py) is complete: every public layer and loss has a case, every
case a PyTorch counterpart or the reason why not, every activation a case marked so, and every layer and loss
a row in docs/layers.md."""

from __future__ import annotations

from pathlib import Path

from cases import LAYER_CASES, LOSS_CASES, MODES, RECURRENT_CASES

import minnet

ROOT = Path(__file__).resolve().parents[1]


def public_layers_and_losses() -> set[str]:
    """The classes minnet exports that subclass Layer or Loss, the two bases left out."""
    exported = (getattr(minnet, name) for name in minnet.__all__)
    return {
        cls.__name__
        for cls in exported
        if isinstance(cls, type)
        and issubclass(cls, (minnet.Layer, minnet.Loss))
        and cls not in (minnet.Layer, minnet.Loss)
    }


#: Layers the registry's one-input cases cannot hold, and the test files that check each the same ways (finite
#: differences, PyTorch, errors, the test kit).
CHECKED_ELSEWHERE = {
    "MultiheadAttention": "tests/test_attention.py and tests/test_several_inputs.py: three inputs and two outputs"
}


def test_every_public_layer_and_loss_has_a_case():
    covered = {type(case.build()).__name__ for case in LAYER_CASES + LOSS_CASES + RECURRENT_CASES}
    covered |= set(CHECKED_ELSEWHERE)
    missing = public_layers_and_losses() - covered
    assert not missing, f"no case in tests/cases.py for {sorted(missing)}: add a LayerCase or LossCase"


def test_every_case_has_a_pytorch_counterpart_or_says_why_not():
    unexplained = [case.id for case in LAYER_CASES + LOSS_CASES if case.torch is None and not case.no_torch.strip()]
    unexplained += [
        f"{case.id} ({', '.join(sorted(set(case.modes) - set(case.compared_modes)))} mode)"
        for case in LAYER_CASES
        if case.torch is not None and set(case.compared_modes) < set(case.modes) and not case.no_torch.strip()
    ]
    assert not unexplained, f"not compared with PyTorch and no reason given (no_torch) for {unexplained}"


def test_case_ids_are_unique_and_start_with_the_class_name():
    ids = [case.id for case in LAYER_CASES + LOSS_CASES + RECURRENT_CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    misnamed = [case.id for case in LAYER_CASES + LOSS_CASES if case.id.split("-")[0] != type(case.build()).__name__]
    assert not misnamed, f"case ids must start with their class name: {misnamed}"


def test_modes_are_train_or_eval_and_compared_modes_are_checked_modes():
    for case in LAYER_CASES:
        assert case.modes, case.id
        assert set(case.modes) <= set(MODES), case.id
        assert set(case.compared_modes) <= set(case.modes), case.id


def test_docs_layers_table_names_every_layer_and_loss():
    table = (ROOT / "docs" / "layers.md").read_text(encoding="utf-8")
    missing = [name for name in sorted(public_layers_and_losses()) if f"| `{name}(" not in table]
    assert not missing, f"docs/layers.md has no table row for {missing}"


def test_every_class_of_minnet_nn_activation_has_an_activation_case():
    """So a new activation runs through tests/test_activations.py and the extreme inputs against PyTorch."""
    public = public_layers_and_losses()
    defined = {name for name in public if getattr(minnet, name).__module__ == "minnet.nn.activation"}
    marked = {type(case.build()).__name__ for case in LAYER_CASES if case.activation}
    assert defined <= marked, f"no case with activation=True for {sorted(defined - marked)}"
