"""device="numba": fuse the program for one input signature, generate its Numba module, load it (cached
on disk by its source), and hand back its value_and_grad."""

import numpy

from ..ir.errors import Error
from ..ir.shapes import infer_all
from . import devices, execute
from .load import load_cached
from .numba_codegen import generate


class Compiled:
    """One program's fused module for one signature."""

    def __init__(self, program, args):
        devices.require_numba()
        self.source = source(program, args)
        self.value_and_grad = load_cached(self.source)["value_and_grad"]


def compiled(program, args):
    return Compiled(program, args)


def source(program, args):
    """The fused module's source for input values `args` (in program.inputs order)."""
    if program.fuser is None:
        raise Error("this Program has no fusion pass: make it with irgraph.compile")
    shapes = {v: numpy.shape(a) for (_, v), a in zip(program.inputs, args)}
    fused = program.fuser(program, shapes)
    return generate(fused, infer_all(program, shapes), dtypes(program, args))


def dtypes(program, args):
    """{variable: dtype name, or None for a Python float}: NumPy's own promotion, found by running the
    program once on one-element stand-ins of the inputs (dtypes never depend on sizes)."""
    rng = numpy.random.default_rng(0)
    small = {}
    for (name, _), a in zip(program.inputs, args):
        value = 0.5 + rng.random()
        small[name] = value if type(a) is float else numpy.full((1,) * numpy.ndim(a), value, numpy.asarray(a).dtype)
    with numpy.errstate(all="ignore"):
        env = execute.trace(program, small, numpy, keep=True)
    return {v: (None if type(x) is float else numpy.asarray(x).dtype.name) for v, x in env.items()}
