# The seed notebook (../shared/anchors/seed_keras.py) with the one change digits' main job makes: Adam's
# learning rate decays to 0 along a cosine over the run (keras.optimizers.schedules.CosineDecay), so the
# accuracy of `digits train` can be compared with Keras on the same recipe.
# Usage: ../keras-venv/bin/python bench/keras_cosine.py ../shared/datasets/mnist [EPOCHS=10] [BATCH=32]
import gzip, math, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras
from keras import layers

def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[4:8], "big")
    if int.from_bytes(data[0:4], "big") == 2051:
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 28, 28)
    return np.frombuffer(data, np.uint8, offset=8)

d = sys.argv[1]
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
bs = int(sys.argv[3]) if len(sys.argv) > 3 else 32
x_train = (idx(f"{d}/train-images-idx3-ubyte.gz") / 255.0).reshape(-1, 28, 28, 1).astype("float32")
x_test = (idx(f"{d}/t10k-images-idx3-ubyte.gz") / 255.0).reshape(-1, 28, 28, 1).astype("float32")
y_train = keras.utils.to_categorical(idx(f"{d}/train-labels-idx1-ubyte.gz"), 10)
y_test = keras.utils.to_categorical(idx(f"{d}/t10k-labels-idx1-ubyte.gz"), 10)
model = keras.Sequential([keras.Input((28, 28, 1)),
    layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D(2, 2),
    layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D(2, 2),
    layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=epochs * math.ceil(len(x_train) / bs))
model.compile(optimizer=keras.optimizers.Adam(schedule), loss="categorical_crossentropy", metrics=["accuracy"])
t0 = time.perf_counter()
history = model.fit(x_train, y_train, epochs=epochs, batch_size=bs, validation_data=(x_test, y_test), verbose=0)
for e, acc in enumerate(history.history["val_accuracy"]):
    print(f"epoch {e + 1}: val_acc {acc:.4f} val_loss {history.history['val_loss'][e]:.4f}")
loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"RESULT keras {keras.__version__} cosine epochs={epochs} bs={bs} fit_wall={time.perf_counter() - t0:.1f}s test_acc={acc * 100:.2f}% test_loss={loss:.4f}")
