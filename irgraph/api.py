"""JAX-style entry points: `value_and_grad(model, wrt=...)` and `grad(...)` return functions of the inputs.

    f = irgraph.value_and_grad("examples/linear.eq", wrt=["b", "w1"])
    value, grads = f(inputs)                  # grads: {name: array}

The model is compiled once, when the function is made. Calls run Program.run: the first call with a given
input signature (the names, shapes and dtypes of the inputs) checks the shapes, so a bad input is an
irgraph.Error naming the equation; later calls with that signature run the generated module directly.
Anything unusual on that path (an exception, a NaN) is run again through the interpreter, so errors and
warnings are always the interpreter's.
"""

from . import compiler


def value_and_grad(model, wrt=None, output=None, device="numpy", check_finite=False, chunks=None):
    """A function `inputs -> (value, {name: gradient})` of a model (text, a path or an irgraph.Graph).

    chunks (device "dask" only): how NumPy inputs are chunked; see Program.run."""
    return Function(model, wrt, output, device, check_finite, chunks)


def grad(model, wrt=None, output=None, device="numpy", check_finite=False, chunks=None):
    """A function `inputs -> {name: gradient}`; see value_and_grad."""
    f = Function(model, wrt, output, device, check_finite, chunks)

    def gradient(inputs):
        return f(inputs)[1]

    gradient.program = f.program
    gradient.__doc__ = f"Gradients of {f.program.output[0]} with respect to {', '.join(f.program.wrt)}."
    return gradient


class Function:
    """A compiled model as a function of its inputs; `.program` is the irgraph.Program it runs.

    Calls go through Program.run, whose dispatcher (irgraph/backends/dispatch.py) checks each new input
    signature once and then runs compiled code, falling back to the interpreter for errors and NaNs."""

    def __init__(self, model, wrt=None, output=None, device="numpy", check_finite=False, chunks=None):
        self.program = compiler.compile(model, wrt=wrt, output=output)
        self.device, self.check_finite = device, check_finite
        self._options = {"chunks": chunks} if device == "dask" else {}

    def __call__(self, inputs):
        res = self.program.run(inputs, device=self.device, check_finite=self.check_finite, **self._options)
        return res.value, res.grads

    def __repr__(self):
        wrt = ", ".join(self.program.wrt) or "nothing"
        return f"<irgraph.value_and_grad of {self.program.output[0]} with respect to {wrt}>"
