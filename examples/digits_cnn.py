"""Handwritten digits with a small convolutional network: scikit-learn's bundled 8×8 digit
images (1,797 samples, shipped inside the package, no download) as (N, 1, 8, 8) arrays, a
stratified 75/25 train/test split, and

    Conv2d(1, 16, 3, padding=1) -> BatchNorm2d -> ReLU -> MaxPool2d(2)     (N, 16, 4, 4)
    Conv2d(16, 32, 3, padding=1) -> BatchNorm2d -> ReLU -> Flatten         (N, 512)
    Linear(512, 10)

trained with Adam on CrossEntropyLoss, with a cosine learning-rate schedule. Prints the test
accuracy (98.7% here; 98.7% to 99.3% over other seeds) and the time taken (under a minute on
two cores). Without the BatchNorm2d layers the same network reaches 97.1% to 97.8%.

Run from a checkout:  pip install -e ".[examples]"; python examples/digits_cnn.py
"""

import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import minnet
from minnet.metrics import accuracy


def digits_cnn(dtype=np.float32) -> minnet.Sequential:
    """The network of this example (and of the docs' convolution tutorial and the benchmark)."""
    return minnet.Sequential(
        minnet.Conv2d(1, 16, 3, padding=1, rng=0, dtype=dtype),
        minnet.BatchNorm2d(16, dtype=dtype),
        minnet.ReLU(),
        minnet.MaxPool2d(2),
        minnet.Conv2d(16, 32, 3, padding=1, rng=1, dtype=dtype),
        minnet.BatchNorm2d(32, dtype=dtype),
        minnet.ReLU(),
        minnet.Flatten(),
        minnet.Linear(32 * 4 * 4, 10, rng=2, dtype=dtype),
    )


if __name__ == "__main__":
    started = time.perf_counter()
    X, y = load_digits(return_X_y=True)  # pixels 0..16, labels 0..9
    images = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)  # (N, channels, height, width)
    X_train, X_test, y_train, y_test = train_test_split(images, y, test_size=0.25, random_state=0, stratify=y)

    model = digits_cnn()
    optimizer = minnet.Adam(model.parameters(), lr=5e-3)
    epochs = 25
    history = minnet.fit(
        model,
        minnet.CrossEntropyLoss(),
        optimizer,
        X_train,
        y_train,
        epochs=epochs,
        batch_size=64,
        rng=0,
        metrics=["accuracy"],
        validation_data=(X_test, y_test),
        scheduler=minnet.optim.CosineAnnealingLR(optimizer, T_max=epochs),
        progress=False,
    )
    test_accuracy = accuracy(minnet.predict(model, X_test), y_test)
    seconds = time.perf_counter() - started
    print(f"final training loss {history.history['loss'][-1]:.4f}")
    print(f"test accuracy {test_accuracy:.2%} on {len(y_test)} held-out digits ({seconds:.1f} s)")
