"""A model's size from its configuration alone, by arithmetic (no Keras): its exact parameter
count and the multiply-adds of one image's forward pass. One walk over the recurrent stack
gives both, so the memory check and the time model cannot disagree about a layer."""

from __future__ import annotations

from dataclasses import dataclass

from suite.study.bounds import MAX_UNITS
from suite.study.sections import ModelConfig

# Weight matrices (gate blocks) of each cell: a SimpleRNN has one, an LSTM four (input,
# forget, cell, output), a GRU three (update, reset, candidate).
GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
CLASSES = 10  # MNIST's digits; other data gives its own (DataConfig.outputs)


@dataclass(frozen=True)
class ModelSize:
    parameters: int  # what Keras's `count_params()` gives for `suite.train.models.build_model`
    forward_macs: int  # multiply-adds of one image's forward pass


def model_size(
    model: ModelConfig, input_shape: tuple[int, int], classes: int = CLASSES
) -> ModelSize:
    """The recurrent stack, then Dense(classes). Keras 3's GRU (reset_after=True) has two bias
    vectors per gate; each direction of a bidirectional layer has its own weights."""
    steps, width = input_shape
    directions = 2 if model.bidirectional else 1
    gates, units = GATES[model.cell], model.units
    biases = 2 if model.cell == "gru" else 1
    parameters = macs = 0
    for _ in range(model.layers):
        parameters += directions * gates * (units * (width + units) + biases * units)
        macs += directions * steps * gates * (width * units + units * units)
        width = directions * units  # what the next layer (or the Dense head) reads
    parameters += width * classes + classes
    macs += width * classes
    return ModelSize(parameters, macs)


def units_for_budget(
    model: ModelConfig, input_shape: tuple[int, int], budget: int, classes: int = CLASSES
) -> int:
    """The units per direction whose exact parameter count is nearest `budget` (the fewer
    units on a tie). The count grows with the units, so a bisection finds the first count at
    or past the budget; the nearest is that one or the one below it."""

    def count(units: int) -> int:
        return model_size(
            model.model_copy(update={"units": units}), input_shape, classes
        ).parameters

    low, high = 1, MAX_UNITS
    while low < high:
        middle = (low + high) // 2
        if count(middle) >= budget:
            high = middle
        else:
            low = middle + 1
    if low > 1 and budget - count(low - 1) <= count(low) - budget:
        return low - 1
    return low
