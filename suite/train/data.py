"""The bundled MNIST, verified, as sequence views with an honest validation split."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from suite.errors import SetupError
from suite.sequences import Description
from suite.study.data_config import MNIST_TEST_SIZE, MNIST_TRAIN_SIZE, DataConfig
from suite.study.sequences import prepared

# sha256 of each array's raw bytes, from the dataset's README (suite/datasets/README.md).
MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}


class DataError(SetupError):
    """The dataset file is missing or damaged: every run would fail on it."""


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # (60000, 28, 28) uint8
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class Splits:
    """float32 inputs shaped (n, steps, features): MNIST's in [0, 1] with labels 0..9, other
    data standardised per channel and padded (suite.sequences.prepare), its `description`."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: Description | None = None  # None: MNIST

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def split_sizes(config: DataConfig) -> tuple[int, int, int]:
    """(train, validation, test) case counts of a data section: MNIST's without loading
    anything, other data's as its description (read once per process) has them."""
    if not config.is_mnist:
        cases = config.description.cases
        return cases["train"], cases["validation"], cases["test"]
    test = config.test_size or MNIST_TEST_SIZE
    if config.validation == "holdout":
        pool, validation = MNIST_TRAIN_SIZE - config.validation_size, config.validation_size
    else:
        pool, validation = MNIST_TRAIN_SIZE, test
    return min(config.train_size or pool, pool), validation, test


MNIST_PATH_VARIABLE = "SUITE_MNIST"  # another copy of the archive, verified the same way


def bundled_mnist_path() -> Path:
    return Path(str(resources.files("suite.datasets").joinpath("mnist.npz")))


def mnist_path() -> Path:
    """The archive the suite reads: $SUITE_MNIST when set, else the bundled copy."""
    override = os.environ.get(MNIST_PATH_VARIABLE)
    return Path(override) if override else bundled_mnist_path()


def _restore(path: Path) -> str:
    """How to get a good archive back, for an error message."""
    if path == bundled_mnist_path():
        return (
            "restore it from the repository (git checkout -- suite/datasets/mnist.npz)"
            " or reinstall the package (pip install -e .)"
        )
    return f"replace it with a good copy, or unset {MNIST_PATH_VARIABLE} to read the bundled one"


def load_mnist(path: Path | None = None) -> Mnist:
    """Load the archive and verify every array against its checksum (once per process and
    file: the CLI's check before training and each run read the same arrays)."""
    return _load_verified(path or mnist_path())


@functools.cache  # keyed on the resolved path: load_mnist() and load_mnist(None) share it
def _load_verified(path: Path) -> Mnist:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in MNIST_SHA256}
    except FileNotFoundError:
        raise DataError(f"{path}: MNIST file not found; {_restore(path)}") from None
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"{path}: not a readable MNIST archive ({err}); {_restore(path)}") from None
    for name, expected in MNIST_SHA256.items():
        actual = hashlib.sha256(arrays[name].tobytes()).hexdigest()
        if actual != expected:
            raise DataError(
                f"{path}: array {name} is damaged (sha256 {actual[:12]}..., expected"
                f" {expected[:12]}...); {_restore(path)}"
            )
    return Mnist(**arrays)


# A dataset axis's splits, each made once per process: other data's arrays are `prepared`'s
# own (no copy); an MNIST view's are about 200 MB, and a study lists few of them.
@functools.lru_cache(maxsize=16)
def load_splits(config: DataConfig, path: Path | None = None) -> Splits:
    """The train / validation / test arrays a study's data section asks for."""
    if not config.is_mnist:
        ready = prepared(config)
        return Splits(
            ready.x_train,
            ready.y_train,
            ready.x_val,
            ready.y_val,
            ready.x_test,
            ready.y_test,
            description=ready.description,
        )
    mnist = load_mnist(path)
    arrays = {"train": (mnist.x_train, mnist.y_train), "test": (mnist.x_test, mnist.y_test)}
    views = {}
    for split, (source, start, end) in split_bounds(config).items():
        images, labels = arrays[source]
        views[split] = (_view(images[start:end], config), labels[start:end].astype(np.int32))
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
        views["train"],
        views["validation"],
        views["test"],
    )
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test)


def split_bounds(config: DataConfig) -> dict[str, tuple[str, int, int]]:
    """Where each split comes from: {split: (MNIST array, first image, end)}; the one statement
    of the split rule, which loading and the MLflow dataset records both follow."""
    train, validation, test = split_sizes(config)
    if config.validation == "holdout":
        # The last images of the training set are held out, as in the classic 50k/10k split.
        val = ("train", MNIST_TRAIN_SIZE - validation, MNIST_TRAIN_SIZE)
    else:  # the seed article's setup: the test set doubles as validation data
        val = ("test", 0, test)
    return {"train": ("train", 0, train), "validation": val, "test": ("test", 0, test)}


def split_digest(config: DataConfig, split: str) -> str:
    """A short fingerprint of one split: the verified MNIST arrays, the view and the slice."""
    source, start, end = split_bounds(config)[split]
    identity = {
        "mnist": [MNIST_SHA256[f"x_{source}"], MNIST_SHA256[f"y_{source}"]],
        "slice": [start, end],
        "view": config.view,
        "permutation_seed": config.permutation_seed if config.view == "permuted" else None,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]


def pixel_permutation(seed: int) -> np.ndarray:
    """The fixed order in which the `permuted` view reads the 784 pixels."""
    return np.random.default_rng(seed).permutation(28 * 28)


def _view(images: np.ndarray, config: DataConfig) -> np.ndarray:
    x = images.astype(np.float32) / np.float32(255.0)
    if config.view == "rows":
        return x  # 28 time steps of 28 pixels
    x = x.reshape(len(x), 28 * 28, 1)
    if config.view == "permuted":
        x = x[:, pixel_permutation(config.permutation_seed), :]
    return x
