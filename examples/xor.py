"""XOR: the classic problem no single linear layer can solve. Four noisy clusters at the
corners of the unit square, labelled by x₁ XOR x₂, learnt by a two-layer Tanh network
with a sigmoid output and binary cross-entropy.

Run:  python examples/xor.py
"""

import numpy as np

import minnet
from minnet.metrics import accuracy

rng = np.random.default_rng(0)
corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
labels = np.array([[0.0], [1.0], [1.0], [0.0]])  # x₁ XOR x₂
X = np.repeat(corners, 50, axis=0) + 0.1 * rng.standard_normal((200, 2))
Y = np.repeat(labels, 50, axis=0)

model = minnet.Sequential(minnet.Linear(2, 8, rng=1), minnet.Tanh(), minnet.Linear(8, 1, rng=2), minnet.Sigmoid())
history = minnet.fit(
    model,
    minnet.BCELoss(),
    minnet.Adam(model.parameters(), lr=0.05),
    X,
    Y,
    epochs=60,
    batch_size=20,
    rng=0,
    metrics=["accuracy"],
    progress=False,
)
print(f"loss {history.history['loss'][0]:.3f} -> {history.history['loss'][-1]:.3f}")
print(f"training accuracy {history.history['accuracy'][-1]:.1%}")
for corner, p in zip(corners, minnet.predict(model, corners)[:, 0], strict=True):
    print(f"  {corner.astype(int)} -> {p:.3f}")
print(f"accuracy on the four exact corners: {accuracy(minnet.predict(model, corners), labels):.0%}")
