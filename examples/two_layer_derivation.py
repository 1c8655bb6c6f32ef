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
from minnet.derivation import closed_form_gradients, formula_without_x, make_data

X, Y = make_data()  # the corners of {−1, 1}³ and their majority vote
model = minnet.Sequential(
    minnet.Linear(3, 4, bias=False, rng=0),  # step 5: H = X W1
    minnet.Sigmoid(),  # step 4: Z = σ(H)
    minnet.Linear(4, 1, bias=False, rng=1),  # step 3: O = Z W2
    minnet.Sigmoid(),  # step 2: ŷ = σ(O)
)
loss_fn = minnet.MSELoss()  # step 1: L = 1/(2N) Σ (Y − ŷ)²

# Modular backprop: the loss starts the chain, Sequential walks the layers in reverse.
loss = loss_fn(model(X), Y)
model.backward(loss_fn.backward())
W1, W2 = model[0].weight, model[2].weight

dW1, dW2 = closed_form_gradients(X, Y, W1.data, W2.data)
print(f"loss L = {loss:.6f}")
print("∂L/∂W2 backprop vs closed form, largest difference:", np.abs(W2.grad - dW2).max())
print("∂L/∂W1 backprop vs closed form, largest difference:", np.abs(W1.grad - dW1).max())
without_x = formula_without_x(X, Y, W1.data, W2.data)
print("∂L/∂W1 backprop vs the formula without X_ik:      ", np.abs(W1.grad - without_x).max())

optimizer = minnet.SGD(model.parameters(), lr=5.0)
for step in range(501):
    optimizer.zero_grad()
    loss = loss_fn(model(X), Y)
    model.backward(loss_fn.backward())
    optimizer.step()
    if step % 100 == 0:
        print(f"step {step:>3}  loss {loss:.6f}")
