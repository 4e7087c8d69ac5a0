"""Bit casts between float64 and int64 inside Numba kernels (needs Numba; numba_math falls back without it).

exp and log build and take apart a float's exponent field with these. math.ldexp and math.frexp would do
the same through scalar libm calls, which keep LLVM from vectorising the loop around them.
The source of both functions is copied into generated modules, which define `_intrinsic`.
"""

from numba.extending import intrinsic as _intrinsic


@_intrinsic
def _from_bits(typingctx, i):
    """The float64 whose bit pattern is the int64 i."""
    from llvmlite import ir
    from numba.core import types

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@_intrinsic
def _to_bits(typingctx, x):
    """The bit pattern of the float64 x, as an int64."""
    from llvmlite import ir
    from numba.core import types

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


FUNCTIONS = (_from_bits, _to_bits)
