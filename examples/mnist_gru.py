"""A GRU reads each MNIST image as a sequence of 28 rows of 28 pixels, top to bottom; a
dense layer classifies its last state. Six epochs reach about 98.6 % test accuracy.

    python examples/mnist_gru.py [--data-dir DIR] [--quick] [--lstm]
"""

from fastnn import GRU, LSTM, Adam, Dense, Reshape, Sequential

from _data import mnist, parser

p = parser(__doc__.splitlines()[0])
p.add_argument("--lstm", action="store_true", help="an LSTM instead of the GRU")
args = p.parse_args()
(X, y), (X_test, y_test) = mnist(args)

model = Sequential([
    Reshape((28, 28)),                        # 28 steps of 28 pixels
    (LSTM if args.lstm else GRU)(128),        # the state after the last row: (N, 128)
    Dense(10),
], seed=0)
model.fit(X, y, epochs=1 if args.quick else 6, batch_size=64, optimizer=Adam(lr=2e-3),
          validation_data=(X_test, y_test), verbose=2)
scores = model.evaluate(X_test, y_test)
print(f"test loss {scores['loss']:.4f}, test accuracy {scores['accuracy']:.4f}")
