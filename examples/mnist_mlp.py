"""A multilayer perceptron on MNIST: 784-128-10 with ReLU, dropout and Adam, a
validation split, early stopping, then the test accuracy and a saved model.

    python examples/mnist_mlp.py [--data-dir DIR] [--quick]
"""

import fastnn
from fastnn import Adam, Dense, Dropout, EarlyStopping, Sequential

from _data import mnist, parser

args = parser(__doc__.splitlines()[0]).parse_args()
(X, y), (X_test, y_test) = mnist(args)

model = Sequential([
    Dense(128, activation="relu"),
    Dropout(0.2),
    Dense(10),                       # logits: the cross-entropy loss applies the softmax
], seed=0)
model.fit(X, y, epochs=1 if args.quick else 10, batch_size=32, loss="cross_entropy",
          optimizer=Adam(lr=1e-3), validation_split=0.1,
          callbacks=[EarlyStopping(patience=2)], verbose=2)

scores = model.evaluate(X_test, y_test)   # {"loss": ..., "accuracy": ...}
print(f"test loss {scores['loss']:.4f}, test accuracy {scores['accuracy']:.4f}")
model.save("mnist_mlp.fnn")
assert (fastnn.load("mnist_mlp.fnn").predict(X_test[:100]) == model.predict(X_test[:100])).all()
print("saved mnist_mlp.fnn")
