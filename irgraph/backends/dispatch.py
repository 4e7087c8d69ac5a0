"""Program.run without overhead: each new input signature (names, shapes, dtypes, device) is checked once,
then every call with that signature goes straight to compiled code.

Python floats on NumPy skip even that: they call the generated module's float-only function directly.
Whatever goes wrong inside compiled code, an exception or a result that is not finite, is run again
through the interpreter (execute.py), which names the equation at fault (an Error, or a NonFiniteWarning),
so fast paths never change what a user sees. check_finite=True always takes the interpreter.
"""

import operator

import numpy

from ..ir.errors import Error
from ..ir.shapes import infer
from . import devices, execute, finite
from .codegen import FLOATS
from .execute import Result
from .load import load
from .runtime import _array

MAX_COMPILED = 20_000  # instructions: larger programs run in the interpreter (see Dispatcher.__init__)


def _pair(result):
    return result.value, result.grads


class Dispatcher:
    """Calls one Program's compiled forms; one per Program (Program.run creates it on first use)."""

    def __init__(self, program):
        self.program = program
        names = tuple(name for name, _ in program.inputs)
        if len(names) > 1:
            self.get = operator.itemgetter(*names)
        else:
            self.get = (lambda d: (d[names[0]],)) if names else (lambda d: ())
        self.floats = (float,) * len(names)
        # Python's own compiler needs about 50 KB per instruction of generated source (5 GB for the 10^6
        # instructions of a 10^5-equation chain) and seconds of time; past MAX_COMPILED the interpreter,
        # whose per-instruction overhead is small beside such a program, runs it instead.
        self.module = load(program.source) if len(program.instrs) <= MAX_COMPILED else None
        self.float_fn = self.module[FLOATS] if self.module else None
        self.entries = {}  # signature -> (device name, call(args) -> (value, grads))
        self.last_numba = None  # the numba module made last (Program.source_for shows it)
        if self.float_fn is not None and names:
            # prog.run itself becomes one generated function for this program: on all-float inputs it
            # calls the float code with no method binding, no dispatch and no signature lookup in between
            # (W1: a few hundred ns of Python per call); anything else goes on to Program.run as before.
            object.__setattr__(program, "run", fast_run(program, self.float_fn))

    def __call__(self, inputs, device="auto", check_finite=False):
        if check_finite:
            return self.interpret(inputs, device, check_finite)
        try:
            args = self.get(inputs)
        except Exception:  # noqa: BLE001 - a missing name, or not a mapping: the interpreter says which
            return self.interpret(inputs, device)
        if self.float_fn is not None and tuple(map(type, args)) == self.floats and device in ("auto", "numpy"):
            try:
                value, grads, finite_ = self.float_fn(*args)
            except Exception:  # noqa: BLE001 - e.g. 1/0 on floats: the interpreter names the equation
                return self.interpret(inputs, device)
            if not finite_:
                return self.interpret(inputs, device)
            return Result(value, grads, "numpy")
        key = (device, *map(_signature, args))
        entry = self.entries.get(key)
        if entry is None:
            if None in key:  # lists, ints, NumPy scalars: convert, then check their shapes on each call
                try:
                    args = [_array(numpy, a) for a in args]
                except (TypeError, ValueError):  # not numbers: the interpreter names the input
                    return self.interpret(inputs, device)
                entry = self.prepare(device, args)
            else:
                entry = self.entries[key] = self.prepare(device, args)
        name, xp, call = entry
        with execute.quiet(xp):
            try:
                value, grads = call(inputs)
            except Exception:  # noqa: BLE001 - whatever the array library raised, named by the interpreter
                return self.interpret(inputs, name)
        if not finite.all_finite(xp, value, grads):
            return self.interpret(inputs, name)
        return Result(value, grads, name)

    def prepare(self, device, args):
        """(device name, array module, call) for one signature, after checking its shapes: an Error names the equation."""
        name = devices.choose(device, args)
        xp, name = devices.get_xp(name)
        program = self.program
        shapes = infer(program, {v: numpy.shape(a) for (_, v), a in zip(program.inputs, args)})
        out_name, out_var = program.output
        if program.grads and shapes.get(out_var, ()) != ():
            raise Error(execute._not_scalar(program, out_name, out_var, shapes[out_var]))
        if name == "numba":
            from . import numba_backend  # imports Numba: only when it is asked for

            self.last_numba = numba_backend.compiled(program, args)
            return name, xp, self.last_numba.value_and_grad
        if self.module is None:
            return name, xp, (lambda inputs: _pair(execute.execute(program, inputs, xp, name)))
        vg = self.module["value_and_grad"]
        return name, xp, (lambda inputs: vg(inputs, xp))

    def interpret(self, inputs, device, check_finite=False):
        """The checked, instruction-by-instruction path: an Error names what is wrong, a NonFiniteWarning
        the first equation that made a NaN or an Inf."""
        xp, name = devices.get_xp("numpy" if device == "auto" else device)
        return execute.execute(self.program, inputs, xp, name, check_finite)


FAST_RUN = """
def run(inputs, device="auto", check_finite=False, chunks=None):
    try:
        {args}{comma} = {read}
    except Exception:  # noqa: BLE001 - Program.run says what is wrong with the inputs
        return _slow(inputs, device, check_finite, chunks)
    if {floats} and (device == "auto" or device == "numpy") and not check_finite:
        try:
            value, grads, finite = _floats({args})
        except Exception:  # noqa: BLE001 - x/0 on floats: Program.run names the equation
            return _slow(inputs, device, check_finite, chunks)
        if finite:
            return _Result(value, grads, "numpy")
    return _slow(inputs, device, check_finite, chunks)
"""


def fast_run(program, float_fn):
    """Program.run for one program as a generated function: Python floats on "auto" or "numpy" go straight
    to the generated float-only function; a non-finite result or any other input goes to Program.run."""
    names = [name for name, _ in program.inputs]
    args = [f"_a{i}" for i in range(len(names))]
    source = FAST_RUN.format(args=", ".join(args), comma="," if len(args) == 1 else "",
                             read=f"inputs[{names[0]!r}]," if len(names) == 1 else "_get(inputs)",
                             floats=" is ".join(f"type({a})" for a in args) + " is float")
    namespace = load(source, "irgraph_run")
    slow = type(program).run
    namespace.update(_get=operator.itemgetter(*names), _floats=float_fn, _Result=Result,
                     _slow=lambda inputs, device, check_finite, chunks: slow(program, inputs, device, check_finite,
                                                                            chunks))
    run = namespace["run"]
    run.__doc__ = slow.__doc__
    return run


def run_higher(program, inputs, device="auto", check_finite=False):
    """Program.run of a second-order (or forward-mode) program, on NumPy or CuPy: its generated module's
    value_grad_hessian, run again through the interpreter on anything unusual, as Dispatcher does."""
    what = "a second-order program" if program.hvp else "a forward-mode program"
    xp, name = devices.get_xp_higher(device, what)
    if program.hvp and not check_finite:
        with execute.quiet(xp):
            try:
                value, grads, hessian = generated(program)["value_grad_hessian"](inputs, xp)
            except Exception:  # noqa: BLE001 - the interpreter names what went wrong
                value = None
            if value is not None and finite.all_finite(xp, value, grads):
                return Result(value, grads, name, hessian)
    return execute.execute(program, inputs, xp, name, check_finite)


def generated(program):
    """The namespace of program.source, loaded once per Program."""
    module = program.__dict__.get("_module")
    if module is None:
        module = load(program.source)
        object.__setattr__(program, "_module", module)  # a cache, like the cached_property fields
    return module


def _signature(x):
    """What a compiled form depends on: shape and dtype of an array; None where that is not cheap to know."""
    t = type(x)
    if t is float:
        return t
    if t is numpy.ndarray:
        return (x.shape, x.dtype.char)
    if hasattr(x, "__cuda_array_interface__"):  # a CuPy array
        return (t, x.shape, x.dtype.char)
    return None


def arguments(program, inputs):
    """The input values in program.inputs order: Python floats as they are, anything else as an array."""
    out = []
    for name, _ in program.inputs:
        if name not in inputs:
            raise Error(f"missing input {name!r}")
        x = inputs[name]
        out.append(x if type(x) is float else _array(numpy, x))
    return out
