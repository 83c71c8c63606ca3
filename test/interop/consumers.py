"""The real consumers of digits' exports: Keras 3 loads .keras and .h5, Python onnxruntime runs model.onnx,
and Keras writes a model for `digits import`. Prints one JSON object of probabilities on stdout.

    python consumers.py DIR        # DIR holds m.keras, m.h5, m.onnx, x.npy; writes keras-made.{keras,h5} there
"""
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
import onnxruntime as ort

d = sys.argv[1]
x = np.load(os.path.join(d, "x.npy"))
out = {}
for f in ["m.keras", "m.h5"]:
    m = keras.models.load_model(os.path.join(d, f), compile=False)
    out[f] = m.predict(x, verbose=0).tolist()
s = ort.InferenceSession(os.path.join(d, "m.onnx"), providers=["CPUExecutionProvider"])
out["m.onnx"] = s.run(None, {s.get_inputs()[0].name: x})[0].tolist()

# A model made by Keras itself (random weights, a different shape: batch norm, dropout), for import.
keras.utils.set_random_seed(1)
L = keras.layers
made = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu", padding="same"), L.BatchNormalization(),
    L.MaxPooling2D(), L.Conv2D(16, 3, strides=2, activation="relu"), L.Flatten(), L.Dropout(0.3), L.Dense(32, activation="relu"),
    L.Dense(10, activation="softmax")])
# Non-trivial batch-norm statistics, so their layout is checked too.
bn = made.layers[1]
bn.set_weights([w + np.random.default_rng(2).normal(0, 0.3, w.shape).astype("float32") if i != 3 else w + 0.5 for i, w in enumerate(bn.get_weights())])
made.save(os.path.join(d, "keras-made.keras"))
made.save(os.path.join(d, "keras-made.h5"))
out["keras-made"] = made.predict(x, verbose=0).tolist()
print(json.dumps(out))
