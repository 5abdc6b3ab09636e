"""One run as a plain Keras script, as a user without the suite writes it: load the arrays,
build Masking + the recurrent stack with Dropout + Dense(classes), fit, evaluate once. Run by
benchmarks/archive_study.py, one process per run; prints the test accuracy.

    python benchmarks/plain_keras_run.py ARRAYS.npz CELL BIDIRECTIONAL LAYERS SEED EPOCHS PAD
"""

import sys

import keras
import numpy as np

UNITS, DROPOUT, BATCH, LEARNING_RATE = 50, 0.2, 16, 3e-3  # studies/japanese-vowels.yaml's

arrays, cell, bidirectional, layers, seed, epochs, pad = sys.argv[1:8]
layers, seed, epochs, pad = int(layers), int(seed), int(epochs), float(pad)
data = np.load(arrays)
layer = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
         "gru": keras.layers.GRU}[cell]  # fmt: skip
keras.utils.set_random_seed(seed)
stack = [keras.Input(shape=data["x_train"].shape[1:]), keras.layers.Masking(mask_value=pad)]
for depth in range(1, layers + 1):
    recurrent = layer(UNITS, return_sequences=depth < layers)
    if bidirectional == "1":
        recurrent = keras.layers.Bidirectional(recurrent)
    stack += [recurrent, keras.layers.Dropout(DROPOUT)]
stack.append(keras.layers.Dense(int(data["classes"]), activation="softmax"))
model = keras.Sequential(stack)
model.compile(
    optimizer=keras.optimizers.Adam(LEARNING_RATE),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(
    data["x_train"],
    data["y_train"],
    validation_data=(data["x_val"], data["y_val"]),
    epochs=epochs,
    batch_size=BATCH,
    verbose=0,
)
print(model.evaluate(data["x_test"], data["y_test"], verbose=0)[1])
