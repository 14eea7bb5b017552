"""A character-level language model: an Embedding and an LSTM learn to continue the Zen
of Python (the text of ``import this``, shipped with Python) one character at a time,
then write new text from a prompt.

    python examples/char_lstm.py [--quick]
"""

import argparse
import codecs
import contextlib
import io

import numpy as np

from fastnn import LSTM, Adam, Dense, Embedding, Sequential

args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
args.add_argument("--quick", action="store_true", help="fewer epochs")
args = args.parse_args()

with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the poem
    import this
text = codecs.decode(this.s, "rot13")
chars = sorted(set(text))
ids = np.array([chars.index(c) for c in text])

# every window of WINDOW characters, and the character that follows it
WINDOW = 32
X = np.lib.stride_tricks.sliding_window_view(ids[:-1], WINDOW).copy()   # (N, 32) ids
y = ids[WINDOW:]
print(f"{len(text)} characters, {len(chars)} distinct, {len(X)} windows")

model = Sequential([
    Embedding(len(chars), 16),      # each character id -> a learned 16-vector
    LSTM(128),                      # reads the window; its last state sums it up
    Dense(len(chars)),              # scores for the next character
], seed=0)
history = model.fit(X, y, epochs=8 if args.quick else 60, batch_size=32,
                    optimizer=Adam(lr=5e-3), verbose=0)
losses = history.history["loss"]
print(f"loss {losses[0]:.3f} after the first epoch, {losses[-1]:.3f} after the last")
assert losses[-1] < 0.6 * losses[0], "the loss did not fall"


def write(prompt, length=200, temperature=0.5, seed=0):
    """Continue `prompt`, drawing each next character from the model's probabilities
    sharpened by `temperature`."""
    rng = np.random.default_rng(seed)
    out = prompt
    for _ in range(length):
        window = [chars.index(c) for c in out[-WINDOW:].rjust(WINDOW)]
        p = model.predict_proba(np.array([window]))[0].astype(np.float64)
        p = np.exp(np.log(p + 1e-12) / temperature)
        out += chars[rng.choice(len(chars), p=p / p.sum())]
    return out


print(write("Beautiful is better than ugly.\n"))
