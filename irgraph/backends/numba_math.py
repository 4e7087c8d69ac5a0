"""Scalar functions for Numba kernels, written so that LLVM can vectorise the loops that call them.

NumPy's and Numba's exp, log and tanh call scalar libm routines, one element at a time; these are
branch-free arithmetic (both sides of a choice are computed and one is selected), with the exponent of a
float set or read through bit casts (numba_bits), so a loop over them runs 8 (AVX-512) or 4 (AVX2) elements
at a time. They compute in float64 (a float32 argument is converted exactly; the kernel rounds the result
to the array's dtype). Their maximum errors against NumPy over the whole range, subnormals, huge values,
±inf and NaN included, are measured by tests/test_numba_math.py and stated in the README.

Their source is copied into every generated Numba module (which must not import irgraph), compiled there
without the "reassoc" fast-math flag that the loops get, so no compensated step is optimised away. Without
Numba they still run as plain Python (struct does the bit casts), which is how they read best.
"""

import math

try:
    from .numba_bits import _from_bits, _to_bits
except ImportError:  # no Numba: the same casts in plain Python
    import struct

    def _from_bits(i):
        return struct.unpack("<d", struct.pack("<q", i))[0]

    def _to_bits(x):
        return struct.unpack("<q", struct.pack("<d", x))[0]

LN2_HI = 6.93147180369123816490e-01  # ln 2 to 32 bits: k * LN2_HI is exact for every exponent k
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI


def _k_exp(x):
    """e**x: x = k ln2 + r with |r| <= ln2/2, e**r by its Taylor series to r**13, times 2**k in two steps
    (so that subnormal results and 2**1024 overflow come out as they should)."""
    x = float(x)
    y = min(max(x, -746.0), 710.0) if not math.isnan(x) else 0.0  # exp is 0 below, inf above; NaN is returned below
    k = math.floor(y * 1.4426950408889634 + 0.5)
    r = (y - k * LN2_HI) - k * LN2_LO
    p = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (
        1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (1 / 3628800 + r * (1 / 39916800 + r * (
            1 / 479001600 + r / 6227020800))))))))))))
    half = k >> 1
    e = p * _from_bits((half + 1023) << 52) * _from_bits((k - half + 1023) << 52)
    return x if math.isnan(x) else e


def _k_expm1(x):
    """e**x - 1, accurate near 0: x = k ln2 + r, e**r - 1 by its Taylor series to r**13 (no constant term to
    cancel), then 2**k (e**r - 1) + (2**k - 1); for large k, (e**r) 2**k - 1, which cannot overflow early."""
    x = float(x)
    y = min(max(x, -746.0), 710.0) if not math.isnan(x) else 0.0
    k = math.floor(y * 1.4426950408889634 + 0.5)
    r = (y - k * LN2_HI) - k * LN2_LO
    p = r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r * (
        1 / 40320 + r * (1 / 362880 + r * (1 / 3628800 + r * (1 / 39916800 + r * (
            1 / 479001600 + r / 6227020800))))))))))))
    half = k >> 1
    s1, s2 = _from_bits((half + 1023) << 52), _from_bits((k - half + 1023) << 52)
    e = p * s1 * s2 + (s1 * s2 - 1.0) if k < 56 else (p + 1.0) * s1 * s2 - 1.0
    e = p if k == 0 else e  # -0.0 stays -0.0
    return x if math.isnan(x) else e


def _k_log(x):
    """Natural log: x = m 2**e with m in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh(s), s = (m-1)/(m+1), by
    fdlibm's polynomial; a subnormal x is scaled by 2**54 first."""
    x = float(x)
    tiny = x < 2.2250738585072014e-308
    xs = x * 18014398509481984.0 if tiny else x
    bits = _to_bits(xs)
    e = ((bits >> 52) & 0x7FF) - (1077 if tiny else 1023)
    m = _from_bits((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # in [1, 2)
    big = m > 1.4142135623730951
    m = m * 0.5 if big else m
    k = float(e + 1) if big else float(e)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01))
    t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01 + w * (
        1.818357216161805012e-01 + w * 1.479819860511658591e-01)))
    hfsq = 0.5 * f * f
    r = k * LN2_HI - ((hfsq - (s * (hfsq + t1 + t2) + k * LN2_LO)) - f)
    if x == 0.0:
        r = -math.inf
    if x < 0.0 or math.isnan(x):
        r = math.nan
    if x == math.inf:
        r = x
    return r


def _k_log1p(x):
    """log(1 + x), accurate near 0: log(u) * x / (u - 1) with u = 1 + x corrects u's rounding."""
    x = float(x)
    u = 1.0 + x
    d = u - 1.0
    r = _k_log(u) * (x / d) if d != 0.0 else x
    return x if x == math.inf else r


def _k_tanh(x):
    """tanh(|x|) = m / (m + 2) with m = e**(2|x|) - 1 (expm1's reduction, so small |x| keeps its digits),
    the polynomial in Estrin's form: its short dependency chains keep the vector units busy."""
    x = float(x)
    y = 2.0 * min(abs(x), 20.0) if not math.isnan(x) else 0.0  # tanh is 1.0 in float64 beyond 19.06
    k = math.floor(y * 1.4426950408889634 + 0.5)
    r = (y - k * LN2_HI) - k * LN2_LO
    r2 = r * r
    r4 = r2 * r2
    b0 = (1.0 + r * (1 / 2)) + r2 * (1 / 6 + r * (1 / 24))
    b1 = (1 / 120 + r * (1 / 720)) + r2 * (1 / 5040 + r * (1 / 40320))
    b2 = (1 / 362880 + r * (1 / 3628800)) + r2 * (1 / 39916800 + r * (1 / 479001600))
    p = r * ((b0 + r4 * b1) + r4 * r4 * (b2 + r4 * (1 / 6227020800)))  # e**r - 1, Taylor to r**13
    s = _from_bits((k + 1023) << 52)
    m = p * s + (s - 1.0)
    t = x if math.isnan(x) else m / (m + 2.0)
    return math.copysign(t, x)


def _k_sigmoid(x):
    """1 / (1 + e**-x), from e = exp(-|x|) <= 1 so nothing overflows: 1/(1+e) for x >= 0, e/(1+e) below."""
    x = float(x)
    e = _k_exp(-abs(x))
    return x if math.isnan(x) else (1.0 if x >= 0.0 else e) / (1.0 + e)


def _k_logaddexp(a, b):
    """log(e**a + e**b) without overflow: max(a, b) + log1p(exp(-|a - b|)); a == b (inf too) gives a + ln 2."""
    a, b = float(a), float(b)
    r = max(a, b) + _k_log1p(_k_exp(-abs(a - b)))
    r = a + 0.6931471805599453 if a == b else r
    return a + b if math.isnan(a) or math.isnan(b) else r


def _k_log_sigmoid(x):
    """log(sigmoid(x)) = -log(1 + e**-x), finite for large |x|."""
    return -_k_logaddexp(0.0, -x)


def _k_heaviside(x, at):
    return 1.0 if x > 0 else (0.0 if x < 0 else (at if x == 0 else x))


def _k_clip(x, lo, hi):
    return lo if x < lo else (min(x, hi))


def _k_inside(x, lo, hi):
    return 1.0 if lo <= x <= hi else (x if math.isnan(x) else 0.0)


FUNCTIONS = (_k_exp, _k_expm1, _k_log, _k_log1p, _k_tanh, _k_sigmoid, _k_logaddexp, _k_log_sigmoid,
             _k_heaviside, _k_clip, _k_inside)
