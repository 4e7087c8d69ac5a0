"""The vectorisable scalar functions of Numba kernels (backends/numba_math.py) against NumPy, over every
float64 magnitude, subnormals, ±inf and NaN; compiled exactly as generated modules compile them, inside a
loop. The README states the maximum errors these tests measure (MAX_ULP)."""

import re

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from irgraph.backends import numba_codegen
from irgraph.backends.load import load_cached

# The largest error measured in float64, in units in the last place of the reference (README). A float32
# kernel stores the float64 value rounded: within 1 ulp of the float64 reference rounded to float32.
MAX_ULP = {"exp": 1, "expm1": 2, "log": 1, "log1p": 2, "tanh": 3, "sigmoid": 2, "logaddexp": 1,
           "log_sigmoid": 2}


def _long(f):
    """f evaluated in x87 long double and rounded: the reference where NumPy has no such function (the
    NumPy path's exp(-logaddexp(0, -x)) is itself 32 ulp off in sigmoid's far tail)."""
    return lambda x: f(np.asarray(x, np.longdouble)).astype(np.asarray(x).dtype)


REFERENCE = {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "tanh": np.tanh,
             "logaddexp": lambda x: np.logaddexp(x, 0.7),
             "sigmoid": _long(lambda x: 1 / (1 + np.exp(-x))), "log_sigmoid": _long(lambda x: -np.logaddexp(0, -x))}
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
           -1.7976931348623157e308, 709.782712893384, 709.7827128933841, -745.1332191019411, -745.1332191019412,
           -708.4, 0.625, np.nextafter(0.625, 1), 0.34657359027997264, -0.34657359027997264, 19.1, -1.0, 1.0]


def inputs():
    """Every magnitude from the smallest subnormal to the largest float, both signs, dense near 0..50."""
    tiny = np.geomspace(5e-324, 1e-300, 2_000)
    mags = np.geomspace(1e-300, 1.7e308, 60_000)
    dense = np.linspace(0, 50, 100_001)
    pos = np.concatenate([tiny, mags, dense, np.linspace(700, 750, 20_001)])
    return np.concatenate([pos, -pos, SPECIAL])


def vectorised(name, cache=True):
    """f applied elementwise by a loop over the generated module's own _k_ function."""
    loop = (f"\n@_numba.njit(**_FLAGS)\ndef apply(xs, out):\n    for i in range(xs.size):\n"
            f"        out[i] = _k_{name}(xs[i]{', 0.7' if name == 'logaddexp' else ''})\n")
    source = numba_codegen.HEAD + numba_codegen.math_source([f"_k_{name}"]) + loop
    if not cache:  # compiled in this process, so that its LLVM code can be inspected
        source = source.replace("cache=True", "cache=False")
    return load_cached(source, prefix="test_math")["apply"]


def ulps(got, ref, dtype):
    """|got - ref| in units in the last place of ref; 0 where both are the same inf or NaN."""
    same = (got == ref) | (np.isnan(got) & np.isnan(ref))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(got.astype(np.float64) - ref)
        err = diff / np.spacing(np.abs(ref).astype(dtype)).astype(np.float64)
    return np.where(same, 0.0, err)


@pytest.mark.parametrize("name", sorted(MAX_ULP))
def test_within_max_ulp_of_numpy_in_float64_and_float32(name):
    apply, xs = vectorised(name), inputs()
    with np.errstate(all="ignore"):
        ref = REFERENCE[name](xs)
    got = np.empty_like(xs)
    apply(xs, got)
    err = ulps(got, ref, np.float64)
    assert err.max() <= MAX_ULP[name], (err.max(), xs[err.argmax()], got[err.argmax()], ref[err.argmax()])
    with np.errstate(all="ignore"):
        x32 = xs.astype(np.float32)
        ref32 = REFERENCE[name](x32.astype(np.float64)).astype(np.float32)
    got32 = np.empty_like(x32)
    apply(x32, got32)
    err32 = ulps(got32, ref32, np.float32)
    assert err32.max() <= 1, (err32.max(), x32[err32.argmax()], got32[err32.argmax()], ref32[err32.argmax()])


@pytest.mark.parametrize("name", sorted(MAX_ULP))
def test_specials_are_exactly_numpys(name):
    """±inf, NaN, ±0 and the overflow and underflow edges give the reference's value, sign of zero included."""
    apply, xs = vectorised(name), np.array(SPECIAL)
    with np.errstate(all="ignore"):
        ref = REFERENCE[name](xs)
    got = np.empty_like(xs)
    apply(xs, got)
    exact = ~np.isfinite(ref) | (ref == 0)
    np.testing.assert_array_equal(got[exact], ref[exact])
    signed = exact & ~np.isnan(ref)  # a NaN's sign bit is not part of its value
    np.testing.assert_array_equal(np.signbit(got[signed]), np.signbit(ref[signed]))


def test_the_loops_vectorise():
    """No libm call is left in the loop: LLVM turned it into vector instructions. (expm1, logaddexp and
    log_sigmoid are the same arithmetic, but too large for LLVM to inline into the loop: scalar calls.)"""
    for name in ("exp", "log", "log1p", "tanh", "sigmoid"):
        apply, xs = vectorised(name, cache=False), np.ones(64)
        apply(xs, np.empty_like(xs))
        llvm = "".join(apply.inspect_llvm().values())
        assert re.search(r"<(2|4|8) x double>", llvm), name
        assert not re.search(r"call [^@]*@(exp|log|tanh)\b", llvm), name
