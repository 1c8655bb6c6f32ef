"""Regression on scikit-learn's bundled diabetes data (442 patients, 10 features, a disease
progression score): an MLP trained with MSELoss, its R² on a held-out quarter printed
next to scikit-learn's MLPRegressor on the same split.

Run from a checkout:  pip install -e ".[examples]"; python examples/diabetes_regression.py
"""

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

import minnet
from minnet.metrics import r2_score

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
y_mean, y_std = y_train.mean(), y_train.std()  # train on a standardised target, report in the original units
Y_train = ((y_train - y_mean) / y_std)[:, None]
Y_test = ((y_test - y_mean) / y_std)[:, None]

model = minnet.Sequential(minnet.Linear(10, 32, rng=0), minnet.ReLU(), minnet.Linear(32, 1, rng=1))
optimizer = minnet.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
stopper = minnet.EarlyStopping(monitor="val_loss", patience=20)
# Early stopping watches a validation split carved out of the training data, never the test set.
X_fit, X_val, Y_fit, Y_val = train_test_split(X_train, Y_train, test_size=0.2, random_state=1)
history = minnet.fit(
    model,
    minnet.MSELoss(reduction="mean"),
    optimizer,
    X_fit,
    Y_fit,
    epochs=300,
    batch_size=32,
    rng=0,
    validation_data=(X_val, Y_val),
    callbacks=[stopper],
    progress=False,
)
pred = minnet.predict(model, X_test)[:, 0] * y_std + y_mean
minnet_r2 = r2_score(pred, y_test)

reference = MLPRegressor(
    hidden_layer_sizes=(32,),
    learning_rate_init=3e-3,
    max_iter=300,
    early_stopping=True,
    n_iter_no_change=20,
    random_state=0,
)
reference.fit(X_train, Y_train[:, 0])  # the same hidden layer, standardised data and target
sklearn_r2 = r2_score(reference.predict(X_test) * y_std + y_mean, y_test)

print(f"stopped after {len(history.epoch)} epochs (best epoch {stopper.best_epoch + 1})")
print(f"held-out R²: minnet MLP {minnet_r2:.3f}   scikit-learn MLPRegressor {sklearn_r2:.3f}")
print(f"held-out RMSE: minnet {np.sqrt(np.mean((pred - y_test) ** 2)):.1f}")
