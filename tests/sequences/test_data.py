from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from suite.study.data_config import DataConfig
from suite.train.data import (
    MNIST_SHA256,
    DataError,
    bundled_mnist_path,
    load_mnist,
    load_splits,
    pixel_permutation,
)

# The sums published with the data (suite/datasets/README.md), written out here: the loader's
# own constant is checked against them, never used as the expectation.
PUBLISHED_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}


def test_bundled_file_matches_the_published_checksums():
    assert MNIST_SHA256 == PUBLISHED_SHA256  # the loader verifies against the published sums
    with np.load(bundled_mnist_path()) as archive:  # the archive itself, not the loader's view
        raw = {name: archive[name] for name in PUBLISHED_SHA256}
    for name, expected in PUBLISHED_SHA256.items():
        assert hashlib.sha256(raw[name].tobytes()).hexdigest() == expected, name
    mnist = load_mnist()
    for name, array in raw.items():  # the loader hands over the archive's arrays unchanged
        np.testing.assert_array_equal(getattr(mnist, name), array)
        assert getattr(mnist, name).dtype == np.uint8, name
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_test.shape == (10_000, 28, 28)
    # MNIST's well-known facts: its first labels and the digits' counts in each set.
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    counts = np.bincount(mnist.y_train, minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    test_counts = np.bincount(mnist.y_test, minlength=10).tolist()
    assert test_counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


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
