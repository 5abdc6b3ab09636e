from __future__ import annotations

import pytest

from suite.train.models import build_model
from tests.conftest import make_spec


def recurrent_params(cell: str, inputs: int, units: int) -> int:
    """Weights per direction: kernel (inputs x g*units), recurrent (units x g*units), bias."""
    if cell == "simple_rnn":
        return units * (inputs + units) + units
    if cell == "lstm":
        return 4 * (units * (inputs + units) + units)
    # GRU with Keras's default reset_after=True keeps two bias vectors per gate.
    return 3 * (units * (inputs + units) + 2 * units)


def hand_count(cell: str, bidirectional: bool, layers: int, units: int, features: int) -> int:
    directions = 2 if bidirectional else 1
    total, inputs = 0, features
    for _ in range(layers):
        total += directions * recurrent_params(cell, inputs, units)
        inputs = directions * units
    return total + inputs * 10 + 10


def test_the_article_model_has_93010_parameters():
    assert (
        build_model(make_spec(cell="lstm", bidirectional=True, layers=2, units=50)).count_params()
        == 93_010
    )


@pytest.mark.parametrize(
    ("cell", "bidirectional", "layers", "units"),
    [
        ("simple_rnn", False, 1, 50),
        ("simple_rnn", True, 3, 50),
        ("lstm", False, 1, 50),
        ("lstm", False, 3, 32),
        ("gru", False, 2, 50),
        ("gru", True, 1, 50),
        ("gru", True, 3, 16),
    ],
)
def test_parameter_counts_match_hand_computation(cell, bidirectional, layers, units):
    model = build_model(
        make_spec(cell=cell, bidirectional=bidirectional, layers=layers, units=units)
    )
    assert model.count_params() == hand_count(cell, bidirectional, layers, units, features=28)


def test_stack_shape_and_pixel_view():
    model = build_model(
        make_spec(cell="lstm", bidirectional=True, layers=3, units=8, view="pixels")
    )
    assert model.input_shape == (None, 784, 1)
    assert model.output_shape == (None, 10)
    recurrent = [layer for layer in model.layers if layer.name.startswith("bidirectional")]
    assert [r.forward_layer.return_sequences for r in recurrent] == [True, True, False]
    dropouts = [layer for layer in model.layers if layer.name.startswith("dropout")]
    assert [d.rate for d in dropouts] == [0.2, 0.2, 0.2]
    assert model.layers[-1].activation.__name__ == "softmax"
    assert model.count_params() == hand_count("lstm", True, 3, 8, features=1)
