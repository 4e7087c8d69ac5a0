"""Forward mode and second order: irgraph.jvp, irgraph.hvp and irgraph.hessian.

    jv = irgraph.jvp(model, wrt=["w"])         # jv(inputs, tangents) -> (value, d_value)
    hv = irgraph.hvp(model, wrt=["w", "b"])    # hv(inputs, v) -> {name: array}
    H = irgraph.hessian(model, wrt=["w", "b"])  # H(inputs) -> {a: {b: array of shape a.shape + b.shape}}

Each compiles the model once, when the function is made: forward mode (passes.forward over the model), or
forward mode over the gradient graph (order 2). Same IR, same partials, same passes as the gradient.
"""

import numpy

from . import compiler
from .backends import devices, dispatch, execute
from .backends.devices import to_numpy


def jvp(model, wrt=None, output=None, device="numpy"):
    """A function `(inputs, tangents) -> (value, d_value)`: the output and its derivative along the direction
    tangents = {name: array shaped like that input}, one entry per name in wrt. The output may be an array."""
    program = compiler.compile(model, wrt=wrt, output=output, mode="forward")

    def f(inputs, tangents):
        xp, _ = devices.get_xp_higher(device, "jvp")
        with execute.quiet(xp):
            try:
                return dispatch.generated(program)["jvp"](inputs, tangents, xp)
            except Exception:  # noqa: BLE001 - the interpreter names what went wrong
                env = execute.trace(program, inputs, xp)
                return env[program.output[1]], execute.push(program, env, tangents, xp)[program.jvp[0][1]]

    return _named(f, program, f"The value of {program.output[0]} and its derivative along a direction in {{wrt}}.")


def hvp(model, wrt=None, output=None, device="numpy"):
    """A function `(inputs, v) -> {name: array}`: the Hessian of the scalar output with respect to wrt times
    the direction v = {name: array shaped like that input}; forward mode over the gradient, so it costs a
    small multiple of one gradient."""
    program = compiler.compile(model, wrt=wrt, output=output, order=2)

    def f(inputs, v):
        xp, _ = devices.get_xp_higher(device, "hvp")
        with execute.quiet(xp):
            try:
                return dispatch.generated(program)["linearize"](inputs, xp)[2](v)
            except Exception:  # noqa: BLE001 - the interpreter names what went wrong
                swept = execute.push(program, execute.trace(program, inputs, xp), v, xp)
                return {name: swept[var] for name, var in program.hvp}

    return _named(f, program, f"The Hessian of {program.output[0]} with respect to {{wrt}} times a direction v.")


def hessian(model, wrt=None, output=None, device="numpy"):
    """A function `inputs -> {a: {b: NumPy array of shape a.shape + b.shape}}` for a, b in wrt, like
    jax.hessian of a function of a dict: H[a][b][i, j] = ∂²output/∂a_i ∂b_j. One Hessian-vector product
    per element of the inputs in wrt, from one run of the model and its gradient."""
    program = compiler.compile(model, wrt=wrt, output=output, order=2)

    def f(inputs):
        res = program.run(inputs, device=device)
        return {a: {b: numpy.asarray(to_numpy(h)) for b, h in row.items()} for a, row in res.hessian.items()}

    return _named(f, program, f"The Hessian of {program.output[0]} with respect to {{wrt}}.")


def _named(f, program, doc):
    f.program = program
    f.__doc__ = doc.format(wrt=", ".join(program.wrt) or "nothing")
    return f
