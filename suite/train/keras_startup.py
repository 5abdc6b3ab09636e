"""Start the Keras backend quietly, and say what it found: the device a run trains on, and
whether this process trains a configuration's seeds together.

TensorFlow's C++ runtime prints start-up chatter straight to file descriptor 2 while it is
imported and while it first looks for devices (oneDNN notes, CPU-feature notes, "could not find
cuda drivers"). TF_CPP_MIN_LOG_LEVEL does not reach the lines printed before absl logging is
initialised, and raising it would also hide real warnings later on. So we capture fd 2 for
exactly those two moments and replay everything that is not known chatter: real warnings and
errors still reach the user, and nothing is filtered once start-up is over.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import platform
import re
import sys
import tempfile
from collections.abc import Iterator

from suite.machine import CPU_DEVICES_PER_CORE, cpu_cores
from suite.study.config import Study
from suite.train.execution import FUSED_MAX_MEMBERS, fuses_seeds

# Lines TensorFlow prints at start-up on every machine; none of them is the user's business.
STARTUP_CHATTER = re.compile(
    "|".join(
        [
            r"All log messages before absl::InitializeLog\(\) is called",
            r"oneDNN custom operations are on",
            r"Could not find cuda drivers on your machine",
            r"This TensorFlow binary is optimized to use available CPU instructions",
            r"^To enable the following instructions: .* rebuild TensorFlow",
            r"failed call to cuInit",
            r"Unable to register cu(DNN|FFT|BLAS) factory",
            r"computation placer already registered",
            r"TF-TRT Warning: Could not find TensorRT",
            r"cuda_executor\.cc.*NUMA node",
            r"Created device /job:localhost",
        ]
    )
)


@contextlib.contextmanager
def quiet_startup() -> Iterator[None]:
    """Capture fd 2 for the duration; replay what is not start-up chatter."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = [ln for ln in text.splitlines() if ln.strip() and not STARTUP_CHATTER.search(ln)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


@functools.cache
def start_backend() -> str:
    """Import Keras and its backend, configure and find the devices; return the device line."""
    with quiet_startup():
        import keras

        if keras.backend.backend() != "tensorflow" and importlib.util.find_spec("tensorflow"):
            _keras_without_tensorflow()
        _configure_devices(keras.backend.backend())
        device = describe_device(keras.backend.backend())
    return device


def _keras_without_tensorflow() -> None:
    """On JAX or PyTorch, let Keras treat TensorFlow as absent, as on a machine without it.

    Keras imports TensorFlow whenever it is installed, whatever the backend, only to ask
    optional questions: `set_random_seed` seeds TF's generator too, and serialising a layer
    (Bidirectional does at construction) checks for TF's shapes and dtypes. No JAX or PyTorch
    computation reads either, and the import is a large part of every worker's start.
    Keras has no switch for it, so its lazy
    module's answer is set here; where a Keras version lacks that attribute, TensorFlow is
    imported as before, inside the quiet window (its start-up chatter filtered). Anything that
    really uses TF (an exported SavedModel) still imports it on first use."""
    from keras.src.utils import module_utils

    lazy_tensorflow = getattr(module_utils, "tensorflow", None)
    if lazy_tensorflow is not None and hasattr(lazy_tensorflow, "_available"):
        lazy_tensorflow._available = False
    else:
        import tensorflow  # noqa: F401


def accelerator() -> str:
    """What the backend trains on: "cpu", "gpu" or "tpu" (the first word of the device line)."""
    return start_backend().split()[0].rstrip(":").lower()


def _configure_devices(backend: str) -> None:
    """A worker's share of the CPU threads (set by --workers), and GPU memory grown as needed
    rather than taken whole (several workers share one card). Must run before first use."""
    if backend == "jax":
        _configure_jax_cpu_devices()
    if backend != "tensorflow":
        return  # JAX and PyTorch read their threads from the environment --workers sets
    import tensorflow as tf

    threads = int(os.environ.get("SUITE_THREADS", "0"))
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    for gpu in tf.config.list_physical_devices("GPU"):
        with contextlib.suppress(RuntimeError):  # already initialised: too late, harmless
            tf.config.experimental.set_memory_growth(gpu, True)


def _configure_jax_cpu_devices() -> None:
    """JAX's CPU devices for the fused program's lanes; a run on one device computes as
    before (the same compiled program on device 0: tests/training/test_fused.py holds it bit
    for bit)."""
    import jax

    devices = min(CPU_DEVICES_PER_CORE * cpu_cores(), FUSED_MAX_MEMBERS)
    with contextlib.suppress(RuntimeError):  # JAX already started (a benchmark's own): keep
        jax.config.update("jax_num_cpu_devices", devices)


def describe_device(backend: str) -> str:
    """What the backend trains on, in one line: "GPU x1: NVIDIA H200", "CPU: x86_64 (2 cores)"."""
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return f"GPU x{len(gpus)}: {details.get('device_name', gpus[0].name)}"
    elif backend == "jax":
        import jax

        devices = jax.devices()
        if devices and devices[0].platform != "cpu":
            return f"{devices[0].platform.upper()} x{len(devices)}: {devices[0].device_kind}"
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            return f"GPU x{torch.cuda.device_count()}: {torch.cuda.get_device_name(0)}"
    return f"CPU: {platform.processor() or platform.machine()} ({os.cpu_count()} cores)"


def fuses_seeds_here(study: Study, *, cores: int | None = None) -> bool:
    """`fuses_seeds` for this process: its Keras backend (started), its device, and
    its cores (or `cores`)."""
    start_backend()  # Keras imported inside the quiet window, if not yet
    import keras

    return fuses_seeds(
        study,
        backend=keras.backend.backend(),
        accelerator=accelerator(),
        cores=cpu_cores() if cores is None else cores,
    )
