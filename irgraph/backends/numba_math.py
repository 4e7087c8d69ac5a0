"""Scalar functions for Numba kernels, written so that LLVM can vectorise the loops that call them.

Their source is copied into every generated Numba module (which must not import irgraph), decorated there
with numba.njit(inline="always"). They are plain Python here, so tests can compare them with NumPy.

`_k_tanh` is the W3 bottleneck: NumPy's and Numba's tanh call the scalar libm routine, one element at a
time. This one is branch-free arithmetic: a rational function below 0.625 (Cephes' coefficients) and
1 - 2/(exp(2|x|) + 1) above, with exp from a degree-10 Taylor polynomial of exp(y/256) squared 8 times.
Its maximum error against NumPy over the whole float64 range is measured by tests/test_numba.py.
The other functions are here because Numba does not compile NumPy's heaviside or clip on scalars.
"""

import math


def _k_tanh(x):
    """tanh(x) without a libm call: vectorisable, a few ulp from NumPy's (see the README)."""
    ax = abs(x)
    ax = min(ax, 20.0)  # tanh is 1.0 in float64 beyond 19.06; NaN passes (the test is False)
    s = ax * ax
    small = ax + ax * s * ((-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s
                           - 1.61468768441708447952e3) / (((s + 1.12811678491632931402e2) * s
                                                           + 2.23548839060100448583e3) * s
                                                          + 4.84406305325125486048e3)
    y = ax * (2.0 / 256.0)
    e = 1.0 + y * (1.0 + y * (0.5 + y * (1 / 6 + y * (1 / 24 + y * (1 / 120 + y * (1 / 720 + y * (
        1 / 5040 + y * (1 / 40320 + y * (1 / 362880 + y / 3628800)))))))))
    for _ in range(8):
        e = e * e  # exp(2|x|) = exp(2|x| / 256) ** 256
    big = 1.0 - 2.0 / (e + 1.0)
    w = 1.0 if ax > 0.625 else 0.0
    t = w * big + (1.0 - w) * small
    return math.copysign(t, x)


def _k_heaviside(x, at):
    return 1.0 if x > 0 else (0.0 if x < 0 else (at if x == 0 else x))


def _k_clip(x, lo, hi):
    return lo if x < lo else (min(x, hi))


def _k_inside(x, lo, hi):
    return 1.0 if lo <= x <= hi else (x if math.isnan(x) else 0.0)


def _k_sigmoid(x):
    return math.exp(-_k_logaddexp0(-x))


def _k_log_sigmoid(x):
    return -_k_logaddexp0(-x)


def _k_logaddexp0(x):
    """log(1 + exp(x)) without overflow."""
    return (x if x > 0 else 0.0) + math.log1p(math.exp(-abs(x)))


FUNCTIONS = (_k_tanh, _k_heaviside, _k_clip, _k_inside, _k_sigmoid, _k_log_sigmoid, _k_logaddexp0)
