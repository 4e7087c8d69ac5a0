"""Devices: NumPy on the CPU, Numba's fused kernels on the CPU, CuPy on an NVIDIA GPU, and "auto".

Missing pieces are clear errors naming the package to install.
"""

import functools
import importlib.util

import numpy

from ..ir.errors import Error

DEVICES = ("auto", "numpy", "numba", "cupy", "dask")

# "auto" moves off NumPy only when the largest input has at least this many elements: below it, a kernel
# launch (GPU) or a call into compiled loops (Numba) saves less than it costs.
AUTO_MIN_ELEMENTS = 100_000

_CUPY_HELP = 'install it with pip install "irgraph[gpu]" (or the cupy-cuda12x package directly)'
_NUMBA_HELP = 'install it with pip install "irgraph[fast]" (or the numba package directly)'


def choose(device, args):
    """The device "auto" means for these input values: cupy when a GPU works, else numba when it is
    installed, else numpy; the first two only for inputs of at least AUTO_MIN_ELEMENTS elements."""
    if device != "auto":
        return device
    if max((numpy.size(a) for a in args), default=0) < AUTO_MIN_ELEMENTS:
        return "numpy"
    if gpu_works():
        return "cupy"
    return "numba" if numba_installed() else "numpy"


@functools.cache
def gpu_works():
    """Whether CuPy imports and sees a GPU (asked once per process)."""
    try:
        _cupy()
    except Error:
        return False
    return True


def numba_installed():
    return importlib.util.find_spec("numba") is not None


def require_numba():
    """Numba, or an Error naming the package."""
    try:
        import numba
    except ImportError:
        raise Error(f"device 'numba' needs the package numba, which is not installed; {_NUMBA_HELP}") from None
    return numba


def get_xp(device="numpy"):
    """(array module, device name) for "numpy", "numba" (NumPy arrays), "cupy", "dask" (lazy arrays) or
    "auto" (cupy when it works, else numpy)."""
    if device == "numpy":
        return numpy, "numpy"
    if device == "numba":
        require_numba()
        return numpy, "numba"
    if device == "cupy":
        return _cupy(), "cupy"
    if device == "dask":  # lazy arrays: Program.run hands them to backends/dask.py, which computes them
        return dask_array(), "dask"
    if device == "auto":
        try:
            return _cupy(), "cupy"
        except Error:
            return numpy, "numpy"
    raise Error(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")


def get_xp_higher(device, what):
    """get_xp for the programs only NumPy and CuPy run (forward mode, second order): `what` names the
    program in the Error that numba and dask give."""
    if device in ("numba", "dask"):
        raise Error(f"device {device!r} runs value-and-gradient programs only, not {what}; use device "
                    "'numpy', 'cupy' or 'auto'")
    return get_xp(device)


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


DASK_HELP = "install the dask extra: pip install 'irgraph[dask]'"


def dask_array():
    """dask.array (with NumPy's ufuncs where it lacks one), or an Error that says how to install it."""
    try:
        import dask.array
    except ImportError:
        raise Error(f"device 'dask' needs Dask, which is not installed; {DASK_HELP}") from None
    return _Namespace(dask.array)


class _Namespace:
    """dask.array, falling back to NumPy's ufuncs (heaviside, ...): they run blockwise on Dask arrays
    through __array_ufunc__, so every op of the table works without a Dask-specific rule."""

    __name__ = "dask.array"

    def __init__(self, module):
        self.module = module
        self.Array = module.Array

    def __getattr__(self, name):
        try:
            return getattr(self.module, name)
        except AttributeError:
            found = getattr(numpy, name, None)
            if isinstance(found, numpy.ufunc):
                return found
            raise
