from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from suite.study.config import DataConfig
from suite.train.data import (
    MNIST_SHA256,
    DataError,
    bundled_mnist_path,
    load_mnist,
    load_splits,
    pixel_permutation,
)


def test_bundled_file_matches_the_published_checksums():
    mnist = load_mnist()
    for name, expected in MNIST_SHA256.items():
        assert hashlib.sha256(getattr(mnist, name).tobytes()).hexdigest() == expected
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_test.shape == (10_000, 28, 28)
    counts = np.bincount(mnist.y_train, minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_damaged_file_is_a_clear_error(tmp_path):
    damaged = tmp_path / "mnist.npz"
    with np.load(bundled_mnist_path()) as archive:
        arrays = {k: archive[k].copy() for k in archive.files}
    arrays["y_test"][0] = (arrays["y_test"][0] + 1) % 10
    np.savez(damaged, **arrays)
    with pytest.raises(DataError, match="array y_test is damaged"):
        load_mnist(damaged)


def test_truncated_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "mnist.npz"
    shutil.copy(bundled_mnist_path(), broken)
    broken.write_bytes(broken.read_bytes()[:1000])
    with pytest.raises(DataError, match="not a readable MNIST archive"):
        load_mnist(broken)


def test_rows_view_holds_out_the_last_training_images():
    splits = load_splits(DataConfig(validation_size=10_000))
    assert splits.sizes == {"train": 50_000, "val": 10_000, "test": 10_000}
    assert splits.x_train.dtype == np.float32 and splits.x_train.shape[1:] == (28, 28)
    assert splits.x_train.min() >= 0.0 and splits.x_train.max() <= 1.0
    mnist = load_mnist()
    np.testing.assert_array_equal(splits.y_val, mnist.y_train[50_000:])
    np.testing.assert_allclose(splits.x_val[0], mnist.x_train[50_000] / 255.0, rtol=1e-6)
    all_train = np.concatenate([splits.x_train, splits.x_val])
    assert all_train.mean() == pytest.approx(0.1307, abs=1e-4)
    assert all_train.std() == pytest.approx(0.3081, abs=1e-4)


def test_test_as_validation_and_slices():
    splits = load_splits(DataConfig(validation="test", train_size=300, test_size=200))
    assert splits.sizes == {"train": 300, "val": 200, "test": 200}
    np.testing.assert_array_equal(splits.x_val, splits.x_test)
    np.testing.assert_array_equal(splits.y_train, load_mnist().y_train[:300])


def test_pixel_views():
    pixels = load_splits(DataConfig(view="pixels", train_size=10, test_size=10, validation_size=10))
    permuted = load_splits(
        DataConfig(view="permuted", train_size=10, test_size=10, validation_size=10)
    )
    assert pixels.x_train.shape == (10, 784, 1)
    order = pixel_permutation(0)
    assert sorted(order.tolist()) == list(range(784))
    np.testing.assert_array_equal(permuted.x_train[:, :, 0], pixels.x_train[:, order, 0])
    np.testing.assert_array_equal(pixel_permutation(0), order)  # fixed by its seed
    assert not np.array_equal(pixel_permutation(1), order)
