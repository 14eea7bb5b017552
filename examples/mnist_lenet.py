"""A LeNet-style convolutional network on MNIST: two Conv2D + MaxPool2D blocks, then
dense layers.

    python examples/mnist_lenet.py [--data-dir DIR] [--quick]
"""

from fastnn import Adam, Conv2D, Dense, Flatten, MaxPool2D, Reshape, Sequential

from _data import mnist, parser

args = parser(__doc__.splitlines()[0]).parse_args()
(X, y), (X_test, y_test) = mnist(args)

model = Sequential([
    Reshape((1, 28, 28)),            # the flat 784 pixels as one-channel 28x28 images
    Conv2D(16, 5, padding="same", activation="relu"), MaxPool2D(2),   # 16 x 14 x 14
    Conv2D(32, 5, padding="same", activation="relu"), MaxPool2D(2),   # 32 x 7 x 7
    Flatten(),
    Dense(128, activation="relu"),
    Dense(10),
], seed=0)
model.fit(X, y, epochs=1 if args.quick else 3, batch_size=64, optimizer=Adam(lr=1e-3),
          verbose=2)
scores = model.evaluate(X_test, y_test)   # {"loss": ..., "accuracy": ...}
print(f"test loss {scores['loss']:.4f}, test accuracy {scores['accuracy']:.4f}")
