"""The derivation's network: modular backprop equals the closed forms."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minnet import MSELoss
from minnet._install import install_hint
from minnet.cli import main
from minnet.derivation import backprop_gradients, build_network, closed_form_gradients, formula_without_x, make_data

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backprop_equals_closed_form(seed):
    X, Y = make_data()
    model = build_network(seed)
    dW1, dW2 = backprop_gradients(model, MSELoss(), X, Y)
    W1, W2 = model[0].weight.data, model[2].weight.data
    assert W1.shape == (3, 4)
    assert W2.shape == (4, 1)
    closed_dW1, closed_dW2 = closed_form_gradients(X, Y, W1, W2)
    np.testing.assert_allclose(dW1, closed_dW1, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dW2, closed_dW2, rtol=0, atol=1e-10)
    assert np.abs(dW1).max() > 1e-4  # the comparison is not between zeros


def test_closed_form_on_random_data_too():
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((7, 3)), rng.random((7, 1))
    model = build_network(3)
    dW1, dW2 = backprop_gradients(model, MSELoss(), X, Y)
    closed_dW1, closed_dW2 = closed_form_gradients(X, Y, model[0].weight.data, model[2].weight.data)
    np.testing.assert_allclose(dW1, closed_dW1, rtol=0, atol=1e-10)
    np.testing.assert_allclose(dW2, closed_dW2, rtol=0, atol=1e-10)


def test_formula_without_x_does_not_match():
    X, Y = make_data()
    model = build_network(0)
    dW1, _ = backprop_gradients(model, MSELoss(), X, Y)
    wrong = formula_without_x(X, Y, model[0].weight.data, model[2].weight.data)
    assert np.abs(dW1 - wrong).max() > 1e-3
    assert np.allclose(wrong, wrong[0])  # without X_ik every row k is the same


def test_demo_prints_both_gradients_and_trains(capsys):
    assert main(["demo", "--steps", "200"]) == 0
    out = capsys.readouterr().out
    assert "∂L/∂W1 by backprop" in out
    assert "∂L/∂W1 by the closed form" in out
    assert "does not match" in out
    falls = [line for line in out.splitlines() if line.startswith("loss fell")]
    assert len(falls) == 1
    assert "% lower" in falls[0]
    percent = float(falls[0].split("(")[1].split("%")[0])
    assert percent > 90


def test_python_dash_m_minnet_demo_runs():
    done = subprocess.run(
        [sys.executable, "-m", "minnet", "demo", "--steps", "50"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "largest difference" in done.stdout


def test_example_script_runs():
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "two_layer_derivation.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    differences = [line for line in done.stdout.splitlines() if line.startswith("largest difference")]
    assert len(differences) == 3
    w2, w1, without_x = (float(line.split(":")[-1]) for line in differences)
    assert w2 < 1e-10
    assert w1 < 1e-10
    assert without_x > 1e-3
    assert "∂L/∂W1 by backprop" in done.stdout
    assert "Why X_ik belongs" in done.stdout


def test_demo_refuses_a_negative_number_of_steps(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--steps", "-3"])
    assert "expected a number of steps >= 0, got -3" in capsys.readouterr().err


def test_demo_plot_without_matplotlib_fails_before_running(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None; from minnet.cli import main; main(['demo', '--plot', 'l.png'])"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert install_hint("plot") in result.stderr  # pip install -e "<this checkout>[plot]"
