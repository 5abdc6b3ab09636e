"""build_model(spec): the recurrent classifier a RunSpec describes. Pure: no data, no tracking."""

from __future__ import annotations

import keras

from suite.study.config import RunSpec

NUM_CLASSES = 10

CELLS: dict[str, type[keras.layers.Layer]] = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


def build_model(spec: RunSpec, *, unroll: bool = False) -> keras.Model:
    """`layers` x [cell (Bidirectional if asked), Dropout] then Dense(10, softmax).

    Every recurrent layer but the last returns its whole sequence, so the next one has a
    sequence to read; `units` counts per direction, as in Keras. `unroll` changes how Keras
    steps through time (suite/execution.py), not what it computes.
    """
    m = spec.model
    cell = CELLS[m.cell]
    stack: list[keras.layers.Layer] = [keras.Input(shape=spec.data.input_shape, name="pixels")]
    for depth in range(1, m.layers + 1):
        recurrent = cell(
            m.units, return_sequences=depth < m.layers, unroll=unroll, name=f"{m.cell}_{depth}"
        )
        if m.bidirectional:
            recurrent = keras.layers.Bidirectional(recurrent, name=f"bidirectional_{depth}")
        stack += [recurrent, keras.layers.Dropout(m.dropout, name=f"dropout_{depth}")]
    stack.append(keras.layers.Dense(NUM_CLASSES, activation="softmax", name="digit"))
    return keras.Sequential(stack, name=spec.label.replace("=", "_"))
