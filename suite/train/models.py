"""build_model(spec): the recurrent classifier (or regressor) a RunSpec describes. Pure: no
data, no tracking (the data's shape, classes or target scale come from its description, read
once per process)."""

from __future__ import annotations

import keras

from suite.sequences import PAD_VALUE
from suite.study.run_spec import RunSpec

CELLS: dict[str, type[keras.layers.Layer]] = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


def build_model(spec: RunSpec, *, unroll: bool = False) -> keras.Model:
    """`layers` x [cell (Bidirectional if asked), Dropout] then the head: Dense(classes,
    softmax), ten digits for MNIST, the data's classes otherwise; a linear one for a target.

    Every recurrent layer but the last returns its whole sequence, so the next one has a
    sequence to read; `units` counts per direction, as in Keras. `unroll` changes how Keras
    steps through time (suite/train/execution.py), not what it computes. Series of different
    lengths are padded at their end with PAD_VALUE and masked (keras.layers.Masking): each
    recurrent layer skips the padded steps, both directions of a Bidirectional one too, so
    padding never changes an output (tests/sequences/test_masking.py); equal-length data has
    no mask.
    """
    m = spec.model
    cell = CELLS[m.cell]
    name = "pixels" if spec.data.is_mnist else "sequence"
    stack: list[keras.layers.Layer] = [keras.Input(shape=spec.data.input_shape, name=name)]
    if spec.data.masked:
        stack.append(keras.layers.Masking(mask_value=PAD_VALUE, name="padding"))
    for depth in range(1, m.layers + 1):
        recurrent = cell(
            m.units, return_sequences=depth < m.layers, unroll=unroll, name=f"{m.cell}_{depth}"
        )
        if m.bidirectional:
            recurrent = keras.layers.Bidirectional(recurrent, name=f"bidirectional_{depth}")
        stack += [recurrent, keras.layers.Dropout(m.dropout, name=f"dropout_{depth}")]
    stack += _head(spec)
    return keras.Sequential(stack, name=spec.label.replace("=", "_"))


def _head(spec: RunSpec) -> list[keras.layers.Layer]:
    """Dense(classes, softmax); for a regression target a linear Dense(1), then the training
    targets' std and mean put back (a fixed Rescaling, not trained): the network learns the
    standardised target, as its inputs are standardised, and its output, loss and RMSE are in
    the target's own units."""
    if spec.measure.task != "regression":
        head = "digit" if spec.data.is_mnist else "label"
        return [keras.layers.Dense(spec.data.outputs, activation="softmax", name=head)]
    scale = spec.data.description.target_scale
    assert scale is not None  # a regression's description always has it
    mean, std = scale
    return [
        keras.layers.Dense(1, name="target"),
        keras.layers.Rescaling(scale=std, offset=mean, name="target_units"),
    ]
