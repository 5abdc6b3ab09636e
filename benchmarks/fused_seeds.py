"""Seeds trained together (`training.execution: fused`) against the same seeds trained one after
another, through the suite's own training code, on JAX.

    KERAS_BACKEND=jax python benchmarks/fused_seeds.py [--rounds 3] [--members 3]

For each configuration, K seeds (0..K-1) are trained three ways, in an order that rotates
from round to round, in this one process:

- separate: `suite.train.fit.train` per seed, as a worker of `execution: fast` trains them
  (each run compiles its own steps: JAX keeps no compiled step across models);
- map: `suite.train.fused.train_fused`, one program stepping the K members one after
  another (`jax.lax.map`) on one CPU device;
- lanes: the same program with the members shared over CPU devices (two per core) that step
  side by side, one executable compiled once and loaded onto each (what the suite runs on a
  CPU: suite/train/lanes.py);
- vmap: the same program with the members batched (`jax.vmap`; what it runs on a GPU).

Two configurations, 2 epochs each: the seed model (2-layer BiLSTM-50, batch 64, 8,192 images)
and the 18-configuration smoke study's slowest run (3-layer BiGRU-32, batch 32, 4,096
images). Printed per round: the whole training seconds of each way (compiling included: it
is what a study pays) and the steady (second) epoch's, then the medians of the paired ratios
to separate. Issue 19 turns fused training on by default only where the throughput gain
(separate / fused) is at least 1.5. On a GPU machine, run it there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from suite.train.keras_startup import start_backend

CONFIGURATIONS = {  # name: (spec fields, training images)
    "lstm-bi-2L-50 (seed model)": (
        {"cell": "lstm", "bidirectional": True, "layers": 2, "units": 50, "batch_size": 64},
        8192,
    ),
    "gru-bi-3L-32 (smoke)": (
        {"cell": "gru", "bidirectional": True, "layers": 3, "units": 32, "batch_size": 32},
        4096,
    ),
}


def specs_of(fields: dict, train_size: int, members: int) -> list:
    from suite.study.data_config import DataConfig
    from suite.study.run_spec import RunSpec
    from suite.study.sections import ModelConfig, TrainingConfig

    model = {k: v for k, v in fields.items() if k != "batch_size"}
    return [
        RunSpec(
            study="bench-fused",
            data=DataConfig(train_size=train_size, validation_size=1000, test_size=1000),
            model=ModelConfig(**model, dropout=0.2),
            training=TrainingConfig(epochs=2, batch_size=fields["batch_size"]),
            seed=seed,
            keras_backend="jax",
        )
        for seed in range(members)
    ]


WAYS = ("separate", "map", "lanes", "vmap")


def timed_ways(specs: list, order: list[str]) -> dict[str, tuple[float, float]]:
    """(whole seconds, steady epoch seconds of all K) of each way."""
    from dataclasses import replace

    from suite.train.data import load_splits
    from suite.train.fit import execution_for, train
    from suite.train.fused import train_fused
    from suite.train.lanes import lanes_for

    splits = load_splits(specs[0].data)
    execution = execution_for(specs[0], splits)
    found = {}
    for way in order:
        start = time.perf_counter()
        if way == "separate":
            results = [train(spec, splits, execution=execution)[1] for spec in specs]
            steady = sum(r.history["epoch_seconds"][-1] for r in results)
        else:
            program = "vmap" if way == "vmap" else "map"
            fused = replace(
                execution, mode="fused", fused_program=program, fused_members=len(specs)
            )
            if way == "lanes":
                fused = replace(fused, fused_lanes=lanes_for(fused, len(specs)))
            results = [r for _, r in train_fused(specs, splits, execution=fused)]
            steady = results[0].history["epoch_seconds"][-1] * len(specs)  # shares: K of them
        found[way] = (time.perf_counter() - start, steady)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args()
    if os.environ.get("KERAS_BACKEND") != "jax":
        raise SystemExit("run with KERAS_BACKEND=jax: seeds train together on JAX only")
    start_backend()
    import jax

    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}"
        f" ({len(jax.devices('cpu'))} CPU devices), {args.members} seeds"
    )
    ratios = {(name, way): ([], []) for name in CONFIGURATIONS for way in WAYS[1:]}
    for r in range(args.rounds):
        turn = r % len(WAYS)
        order = list(WAYS[turn:] + WAYS[:turn])  # each way goes first in turn
        for name, (fields, train_size) in CONFIGURATIONS.items():
            found = timed_ways(specs_of(fields, train_size, args.members), order)
            for way in WAYS[1:]:
                whole, steady = ratios[name, way]
                whole.append(found[way][0] / found["separate"][0])
                steady.append(found[way][1] / found["separate"][1])
            print(
                f"round {r + 1} {name}: "
                + ", ".join(f"{w} {found[w][0]:.1f} s (steady {found[w][1]:.1f} s)" for w in WAYS),
                flush=True,
            )
    for (name, way), (whole, steady) in ratios.items():
        w, s = statistics.median(whole), statistics.median(steady)
        print(
            f"{name}, {way} / separate: whole training {w:.3f} (throughput x{1 / w:.2f}),"
            f" steady epoch {s:.3f} (x{1 / s:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
