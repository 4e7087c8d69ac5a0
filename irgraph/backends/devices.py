"""Array modules: NumPy on the CPU, CuPy on an NVIDIA GPU. Missing pieces are clear errors."""

import numpy

from ..ir.errors import Error

DEVICES = ("numpy", "cupy", "auto")

_CUPY_HELP = 'install it with pip install "irgraph[gpu]" (or the cupy-cuda12x package directly)'


def get_xp(device="numpy"):
    """(array module, device name) for "numpy", "cupy" or "auto" (cupy when it works, else numpy)."""
    if device == "numpy":
        return numpy, "numpy"
    if device == "cupy":
        return _cupy(), "cupy"
    if device == "auto":
        try:
            return _cupy(), "cupy"
        except Error:
            return numpy, "numpy"
    raise Error(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")


def _cupy():
    try:
        import cupy
    except ImportError:
        raise Error(f"device 'cupy' needs CuPy, which is not installed; {_CUPY_HELP}") from None
    except Exception as e:  # noqa: BLE001 - a broken CUDA install can fail at import time in any way
        raise Error(f"device 'cupy': CuPy failed to load ({type(e).__name__}: {e})") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - CUDA runtime errors have many types
        raise Error(f"device 'cupy': no usable NVIDIA GPU or CUDA driver ({type(e).__name__}: {e})") from None
    if count < 1:
        raise Error("device 'cupy': CuPy is installed but no GPU is present")
    return cupy


def to_numpy(x):
    """A host copy of an array (CuPy arrays are copied off the GPU); numbers pass through."""
    if hasattr(x, "get") and not isinstance(x, numpy.ndarray):
        return x.get()
    return x
