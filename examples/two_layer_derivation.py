"""The derivation's two-layer sigmoid network, gradient by gradient.

Builds X (8 × 3) -> Linear(3, 4, bias=False) -> Sigmoid -> Linear(4, 1, bias=False)
-> Sigmoid -> MSELoss with L = 1/(2N) Σ (Y − ŷ)², computes ∂L/∂W1 and ∂L/∂W2
by modular backpropagation and by the closed-form formulas (written out term
by term in minnet/derivation.py), shows that the derivation's final ∂L/∂W1
formula without the factor X_ik does not match, then trains the network.

Run:  python examples/two_layer_derivation.py
"""

import numpy as np

import minnet
from minnet.derivation import build_network, closed_form_gradients, formula_without_x, make_data

X, Y = make_data()  # the corners of {−1, 1}³ and their majority vote
# the network of `minnet demo` and docs/derivation.md, with the same seed, so the same weights:
# Linear(3, 4, bias=False) (step 5: H = X W1) -> Sigmoid (step 4: Z = σ(H))
# -> Linear(4, 1, bias=False) (step 3: O = Z W2) -> Sigmoid (step 2: ŷ = σ(O))
model = build_network(0)
loss_fn = minnet.MSELoss()  # step 1: L = 1/(2N) Σ (Y − ŷ)²

# Modular backprop: the loss starts the chain, Sequential walks the layers in reverse.
loss = loss_fn(model(X), Y)
model.backward(loss_fn.backward())
W1, W2 = model[0].weight, model[2].weight

dW1, dW2 = closed_form_gradients(X, Y, W1.data, W2.data)
without_x = formula_without_x(X, Y, W1.data, W2.data)
np.set_printoptions(precision=6, linewidth=100)
print(f"loss L = {loss:.6f}")
print(f"∂L/∂W2 by backprop:\n{W2.grad}\n∂L/∂W2 by the closed form:\n{dW2}")
print(f"∂L/∂W1 by backprop:\n{W1.grad}\n∂L/∂W1 by the closed form, with X_ik:\n{dW1}")
print(f"∂L/∂W1 by the derivation's final formula, without X_ik:\n{without_x}")
print("""
Why X_ik belongs in ∂L/∂W1_kl: W1_kl reaches the loss only through H_il = Σ_k X_ik W1_kl (step 5),
so moving W1_kl by ε moves H_il by X_ik·ε. The chain rule multiplies by ∂H_il/∂W1_kl = X_ik;
without it the formula does not depend on k and gives all three input weights the same gradient.
""")
print("largest difference, ∂L/∂W2 backprop vs closed form:", np.abs(W2.grad - dW2).max())
print("largest difference, ∂L/∂W1 backprop vs closed form:", np.abs(W1.grad - dW1).max())
print("largest difference, ∂L/∂W1 backprop vs without X_ik:", np.abs(W1.grad - without_x).max())

optimizer = minnet.SGD(model.parameters(), lr=5.0)
for step in range(501):
    optimizer.zero_grad()
    loss = loss_fn(model(X), Y)
    model.backward(loss_fn.backward())
    optimizer.step()
    if step % 100 == 0:
        print(f"step {step:>3}  loss {loss:.6f}")
