"""JAX-style entry points: `value_and_grad(model, wrt=...)` and `grad(...)` return functions of the inputs.

    f = irgraph.value_and_grad("examples/linear.eq", wrt=["b", "w1"])
    value, grads = f(inputs)                  # grads: {name: array}

The model is compiled once, when the function is made. The first call with a given input signature (the
names, shapes and dtypes of the inputs) runs the checked interpreter, so a bad input is an irgraph.Error
naming the equation; later calls with that signature run the generated module directly, which costs no
more than running the program. Anything unusual on that path (an exception, a NaN) is run again through
the interpreter, so errors and warnings are always the interpreter's.
"""

import numpy

from . import compiler
from .backends import devices, execute, finite

FAST = ("numpy", "cupy")  # devices the generated module runs on (it takes the array module as `xp`)


def value_and_grad(model, wrt=None, output=None, device="numpy", check_finite=False):
    """A function `inputs -> (value, {name: gradient})` of a model (text, a path or an irgraph.Graph)."""
    return Function(model, wrt, output, device, check_finite)


def grad(model, wrt=None, output=None, device="numpy", check_finite=False):
    """A function `inputs -> {name: gradient}`; see value_and_grad."""
    f = Function(model, wrt, output, device, check_finite)

    def gradient(inputs):
        return f(inputs)[1]

    gradient.program = f.program
    gradient.__doc__ = f"Gradients of {f.program.output[0]} with respect to {', '.join(f.program.wrt)}."
    return gradient


class Function:
    """A compiled model as a function of its inputs; `.program` is the irgraph.Program it runs."""

    def __init__(self, model, wrt=None, output=None, device="numpy", check_finite=False):
        self.program = compiler.compile(model, wrt=wrt, output=output)
        self.device, self.check_finite = device, check_finite
        self._names = [name for name, _ in self.program.inputs]
        self._checked = {}  # input signature -> the device the first (checked) run used
        self._generated = None  # the generated module's value_and_grad, made on the first repeat

    def __call__(self, inputs):
        key = _signature(inputs, self._names)
        device = self._checked.get(key)
        if device in FAST and not self.check_finite:
            out = self._fast(inputs, device)
            if out is not None:
                return out
        res = self.program.run(inputs, device=self.device, check_finite=self.check_finite)
        if key is not None:
            self._checked[key] = res.device
        return res.value, res.grads

    def __repr__(self):
        wrt = ", ".join(self.program.wrt) or "nothing"
        return f"<irgraph.value_and_grad of {self.program.output[0]} with respect to {wrt}>"

    def _fast(self, inputs, device):
        """The generated module on inputs of an already checked signature; None: let the interpreter say."""
        if self._generated is None:
            namespace = {"__name__": "irgraph.generated"}
            code = compile(self.program.source, "<irgraph generated module>", "exec")
            exec(code, namespace)  # noqa: S102 - our own generated code: identifiers and numbers, no user text
            self._generated = namespace["value_and_grad"]
        xp = numpy if device == "numpy" else devices.get_xp(device)[0]  # cupy: imported once, cached by Python
        with execute.quiet(xp):
            try:
                value, grads = self._generated(inputs, xp)
            except Exception:  # noqa: BLE001 - the interpreter runs it again and names the equation at fault
                return None
            if not finite.all_finite(xp, value, grads):
                return None
        return value, grads


def _signature(inputs, names):
    """(type, shape, dtype) of each input the program reads; None when an input is missing or odd."""
    try:
        return tuple(_one(inputs[n]) for n in names)
    except Exception:  # noqa: BLE001 - no signature: the interpreter reports what is wrong with the inputs
        return None


def _one(v):
    if type(v) is float:
        return float
    shape = getattr(v, "shape", None)
    if shape is None:  # a list or another number
        return type(v), numpy.shape(v)
    return type(v), shape, v.dtype
