"""Two interleaved spirals: a harder two-dimensional classification problem, points
generated in the script. A three-layer ReLU network with CrossEntropyLoss, trained with
Adam and a step schedule, early stopping on a validation split.

Run:  python examples/spirals.py
"""

import numpy as np

import minnet
from minnet.metrics import accuracy


def spirals(n_per_class: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points on two spirals r = t, angle t (+ π for the second), t in [0.25, 3π)."""
    t = rng.uniform(0.25, 3 * np.pi, size=2 * n_per_class)
    label = np.repeat([0, 1], n_per_class)
    angle = t + np.pi * label
    X = np.column_stack([t * np.cos(angle), t * np.sin(angle)]) / (3 * np.pi)
    return X + noise * rng.standard_normal(X.shape), label


rng = np.random.default_rng(0)
X_train, y_train = spirals(500, 0.02, rng)
X_test, y_test = spirals(250, 0.02, rng)

model = minnet.Sequential(
    minnet.Linear(2, 64, rng=1),
    minnet.ReLU(),
    minnet.Linear(64, 64, rng=2),
    minnet.ReLU(),
    minnet.Linear(64, 2, rng=3),
)
optimizer = minnet.Adam(model.parameters(), lr=0.01)
history = minnet.fit(
    model,
    minnet.CrossEntropyLoss(),
    optimizer,
    X_train,
    y_train,
    epochs=150,
    batch_size=32,
    rng=0,
    metrics=["accuracy"],
    validation_data=(X_test, y_test),
    callbacks=[minnet.EarlyStopping(monitor="val_accuracy", patience=30)],
    scheduler=minnet.optim.StepLR(optimizer, step_size=50, gamma=0.3),
    progress=False,
)
print(f"epochs run: {len(history.epoch)}, final training loss {history.history['loss'][-1]:.4f}")
print(f"test accuracy {accuracy(minnet.predict(model, X_test), y_test):.1%} on {len(y_test)} points")
