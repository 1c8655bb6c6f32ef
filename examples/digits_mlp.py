"""Handwritten digits with an MLP: scikit-learn's bundled 8×8 digit images (1,797 samples,
shipped inside the package, no download), a stratified 75/25 train/test split, and
Linear(64, 128) -> ReLU -> Linear(128, 10) trained with Adam on CrossEntropyLoss,
with a cosine learning-rate schedule. Prints the test accuracy and the time taken.

Run from a checkout:  pip install -e ".[examples]"; python examples/digits_mlp.py
"""

import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import minnet
from minnet.metrics import accuracy

started = time.perf_counter()
X, y = load_digits(return_X_y=True)  # pixels 0..16, labels 0..9
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)

model = minnet.Sequential(minnet.Linear(64, 128, rng=0), minnet.ReLU(), minnet.Linear(128, 10, rng=1))
optimizer = minnet.Adam(model.parameters(), lr=5e-3)
epochs = 30
history = minnet.fit(
    model,
    minnet.CrossEntropyLoss(),
    optimizer,
    X_train,
    y_train,
    epochs=epochs,
    batch_size=32,
    rng=0,
    metrics=["accuracy"],
    validation_data=(X_test, y_test),
    scheduler=minnet.optim.CosineAnnealingLR(optimizer, T_max=epochs),
)
test_accuracy = accuracy(minnet.predict(model, X_test), y_test)
seconds = time.perf_counter() - started
print(f"final training loss {history.history['loss'][-1]:.4f}")
print(f"test accuracy {test_accuracy:.2%} on {len(y_test)} held-out digits ({seconds:.1f} s)")
