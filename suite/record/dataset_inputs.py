"""The three splits of a run's data as MLflow dataset inputs (the runs table's Dataset
column): each split's source, name, content digest and tags, from the same split rule that
loads the data (suite.train.data.split_bounds)."""

from __future__ import annotations

import hashlib
import warnings

from suite.schema import DatasetInput
from suite.sequences import Description
from suite.study.config import DataConfig
from suite.train.data import Splits, mnist_path, split_bounds, split_digest


def split_datasets(config: DataConfig, splits: Splits) -> tuple[list, list[str], list[dict]]:
    """(datasets, contexts, tags) for `mlflow.log_inputs`: one MLflow dataset per split.

    `mlflow.data.from_numpy` reads only shapes and dtypes here: the digest is given (MNIST's
    from suite.train.data's checksums, other data's from its content hash), not hashed again.
    """
    import mlflow.data

    arrays = {
        "train": (splits.x_train, splits.y_train),
        "validation": (splits.x_val, splits.y_val),
        "test": (splits.x_test, splits.y_test),
    }
    datasets, contexts, tags = [], [], []
    for split, (x, y) in arrays.items():
        source, name, digest, split_tags = _split_identity(
            config, splits.description, split, cases=len(y)
        )
        with warnings.catch_warnings():
            # MLflow registers its local-file source under two schemes ("" and "file") and
            # warns that a path matches both; the two are one class, so nothing is ambiguous.
            warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways")
            dataset = mlflow.data.from_numpy(x, targets=y, source=source, name=name, digest=digest)
        datasets.append(dataset)
        contexts.append(DatasetInput.CONTEXTS[split])
        tags.append(split_tags)
    return datasets, contexts, tags


def _split_identity(
    config: DataConfig, description: Description | None, split: str, *, cases: int
) -> tuple[str, str, str, dict[str, str]]:
    """(source, name, digest, tags) of one split's MLflow dataset: MNIST's view and slice, or
    an archive's or file's name, source and content hash (the split's digest also covers how
    it was cut: the split seed and sizes are in the description)."""
    if description is None:
        array, start, end = split_bounds(config)[split]
        tags = {
            DatasetInput.VIEW: config.view,
            DatasetInput.IMAGES: str(cases),
            DatasetInput.SLICE: f"{array}[{start}:{end}]",
        }
        name = DatasetInput.name(config.view, split)
        return str(mnist_path()), name, split_digest(config, split), tags
    cut = f"{description.digest}:{split}:{description.as_dict()}"
    tags = {
        DatasetInput.SOURCE: description.source,
        DatasetInput.CONTENT: description.digest,
        DatasetInput.CASES: str(cases),
    }
    digest = hashlib.sha256(cut.encode()).hexdigest()[:10]
    return description.path, f"{description.name}-{split}", digest, tags
