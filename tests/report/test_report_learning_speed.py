"""How fast each configuration learns, on a synthetic store whose curves are known.

The synthetic store's validation accuracy at epoch e of 4 is end - 0.3 x (1 - e/4)^2, that
is end - 0.16875, end - 0.075, end - 0.01875, end; each epoch takes 2 s per layer. With the
ends below, by hand:

- lstm-uni-1L (2 s an epoch), ends 0.96 and 0.92: 0.885, 0.94125, 0.96 and 0.845, 0.90125,
  0.92 at epochs 2-4. 95%: seed 0 at epoch 4 (8 s), seed 1 never. 97%, 98%: never.
- gru-bi-2L (4 s an epoch), ends 0.98 and 0.97: 0.905, 0.96125, 0.98 and 0.895, 0.95125,
  0.97. 95%: both at epoch 3 (12 s). 97%: both at epoch 4 (16 s). 98%: seed 0 at epoch 4.

The best run reaches 0.98, so the thresholds are the three highest candidates up to it: 0.95,
0.97, 0.98.
"""

from __future__ import annotations

import csv

from tests.helpers.report_helpers import synthetic_report
from tests.helpers.synthetic_store import SyntheticRun

ENDS = {("lstm", False, 1): (0.96, 0.92), ("gru", True, 2): (0.98, 0.97)}

# configuration, threshold -> (seeds that reached it, epochs mean / fewest / most, seconds ...)
EXPECTED = {
    ("gru-bi-2L", "0.95"): ("2 of 2", 3, 3, 3, 12, 12, 12),
    ("gru-bi-2L", "0.97"): ("2 of 2", 4, 4, 4, 16, 16, 16),
    ("gru-bi-2L", "0.98"): ("1 of 2", 4, 4, 4, 16, 16, 16),
    ("lstm-uni-1L", "0.95"): ("1 of 2", 4, 4, 4, 8, 8, 8),
    ("lstm-uni-1L", "0.97"): ("0 of 2", None, None, None, None, None, None),
    ("lstm-uni-1L", "0.98"): ("0 of 2", None, None, None, None, None, None),
}


def test_epochs_and_seconds_to_each_threshold(tmp_path):
    runs = [
        SyntheticRun(cell, bi, layers, seed, end, val_accuracy=end)
        for (cell, bi, layers), ends in ENDS.items()
        for seed, end in enumerate(ends)
    ]
    out = synthetic_report(tmp_path, runs, "speed")
    with (tmp_path / "speed-learning-speed.csv").open() as file:
        rows = list(csv.DictReader(file))
    found = {}
    for row in rows:
        numbers = [row[c] for c in list(row)[3:]]
        found[(row["configuration"], row["threshold"])] = (
            row["seeds that reached it"],
            *[float(n) if n else None for n in numbers],
        )
    assert found == EXPECTED
    assert [r["configuration"] for r in rows][:1] == ["gru-bi-2L"]  # in the leaderboard's order
    page = out.read_text()
    assert (
        "Fastest to 0.97 validation accuracy: gru-bi-2L, after 4 epochs and 16.0 s of training"
        " (mean over its 2 seeds); 1 of 2 configurations reached it in every seed."
    ) in page
    assert "Validation accuracy against training seconds" in page
