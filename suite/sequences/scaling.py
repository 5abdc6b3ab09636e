"""From raw values to what a masked recurrent network reads: gaps filled, each channel
standardised by the training cases' statistics, padded steps set to PAD_VALUE.

Real steps are those before a series' length; steps after it are padding, never missing data.
"""

from __future__ import annotations

import numpy as np

from suite.sequences.errors import refusal

# What every padded step holds in every channel, for keras.layers.Masking(mask_value=PAD_VALUE).
# Far outside standardised data (10,000 standard deviations), and exact in float32.
PAD_VALUE = -1e4
FILL_MISSING = ("zero", "previous")


def real_steps(lengths: np.ndarray, steps: int) -> np.ndarray:
    """(cases, steps) bool: True where a step lies within its series."""
    return np.arange(steps)[np.newaxis, :] < lengths[:, np.newaxis]


def missing_inside(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(cases, steps, channels) bool: NaN at a real step, a gap rather than padding."""
    return np.isnan(x) & real_steps(lengths, x.shape[1])[:, :, np.newaxis]


def refuse_gaps(
    x: np.ndarray, lengths: np.ndarray, *, fill_missing: str | None, where: str, label: str
) -> None:
    """Gaps are refused unless the study said how to fill them."""
    if fill_missing is not None and fill_missing not in FILL_MISSING:
        raise refusal(
            where, f"data.fill_missing is {fill_missing!r}", "use zero or previous, or leave it out"
        )
    gaps = np.argwhere(missing_inside(x, lengths))
    if fill_missing is None and len(gaps):
        case, step, channel = (int(i) for i in gaps[0])
        more = f" and {len(gaps) - 1} more" if len(gaps) > 1 else ""
        raise refusal(
            where,
            f"{label} has NaN inside series {case} (channel {channel}, step {step}){more}",
            "fill the gaps, or set data.fill_missing: zero or previous",
        )


def fill_previous(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each gap takes the last value before it in its channel; a gap before the first value
    takes the first value. A channel with no value at all in a series stays NaN (then filled
    as 'zero' is: the channel's training mean)."""
    steps = x.shape[1]
    seen = ~np.isnan(x) & real_steps(lengths, steps)[:, :, np.newaxis]
    position = np.arange(steps)[np.newaxis, :, np.newaxis]
    previous = np.maximum.accumulate(np.where(seen, position, -1), axis=1)
    following = np.minimum.accumulate(np.where(seen, position, steps)[:, ::-1], axis=1)[:, ::-1]
    source = np.where(previous >= 0, previous, following)
    taken = np.take_along_axis(x, np.minimum(source, steps - 1), axis=1)
    fillable = missing_inside(x, lengths) & (source < steps)
    return np.where(fillable, taken, x)


def channel_stats(
    x: np.ndarray, lengths: np.ndarray, *, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, the mean and standard deviation of the values at real steps (gaps left
    out). A channel whose values are all equal gets std 1: it is only centred."""
    values = x[real_steps(lengths, x.shape[1])]  # (real steps, channels)
    empty = np.isnan(values).all(axis=0)
    if empty.any():
        raise refusal(
            where,
            f"channel {int(np.argmax(empty))} has no value in any training case",
            "remove the channel, or give it values",
        )
    mean = np.nanmean(values, axis=0)
    std = np.nanstd(values, axis=0)
    constant = np.nanmax(values, axis=0) == np.nanmin(values, axis=0)
    return mean, np.where(constant, 1.0, std)


def model_input(
    x: np.ndarray, lengths: np.ndarray, *, mean: np.ndarray, std: np.ndarray, steps: int
) -> np.ndarray:
    """float32 (cases, steps, channels): standardised real steps, remaining gaps at 0 (the
    training mean), every padded step PAD_VALUE in every channel."""
    scaled = x - mean  # float64 arithmetic, one copy: MNIST-sized splits stay affordable
    scaled /= std
    scaled[np.isnan(scaled)] = 0.0  # a gap at the channel's training mean
    out = np.full((x.shape[0], steps, x.shape[2]), PAD_VALUE, dtype=np.float32)
    out[:, : x.shape[1]] = scaled
    out[~real_steps(lengths, steps)] = PAD_VALUE
    return out


def refuse_pad_lookalikes(x: np.ndarray, lengths: np.ndarray, *, where: str, label: str) -> None:
    """A real step equal to PAD_VALUE in every channel would be masked as padding."""
    lookalike = (x == np.float32(PAD_VALUE)).all(axis=2) & real_steps(lengths, x.shape[1])
    if lookalike.any():
        case, step = (int(i) for i in np.argwhere(lookalike)[0])
        raise refusal(
            where,
            f"{label} series {case} step {step} equals the padding value {PAD_VALUE:g} in every"
            " channel once standardised, and would be masked as padding",
            "check that series for extreme values",
        )
