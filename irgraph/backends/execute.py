"""The executor: interprets a Program instruction by instruction on NumPy or CuPy arrays."""

from dataclasses import dataclass

from ..ir.errors import Error
from ..ir.ops import apply
from ..ir.shapes import infer
from .devices import to_numpy
from .runtime import _array


@dataclass(frozen=True)
class Result:
    """What running a program gives: the output's value and {input name: gradient}."""

    value: object
    grads: dict
    device: str = "numpy"

    def to_numpy(self):
        """The same result with every array copied to host NumPy arrays."""
        return Result(to_numpy(self.value), {k: to_numpy(v) for k, v in self.grads.items()}, "numpy")


def execute(program, inputs, xp, device):
    """Run the program; a Result of the output's value and the gradients."""
    env = trace(program, inputs, xp)
    return Result(env[program.output[1]], {name: env[v] for name, v in program.grads}, device)


def trace(program, inputs, xp, keep=False):
    """Run the program; its variables at the end ({variable: value}), every one of them with `keep`."""
    if not hasattr(inputs, "keys"):
        raise Error(f"inputs must be a mapping of names to values, not {type(inputs).__name__}")
    env = {}
    for name, v in program.inputs:
        if name not in inputs:
            first = program.uses(v)
            where = f" (used in {program.where(first)})" if first else ""
            raise Error(f"missing input {name!r}{where}")
        value = inputs[name]
        if type(value) is float and xp.__name__ == "numpy":  # NumPy takes Python floats as they are
            env[v] = value
            continue
        try:
            env[v] = _array(xp, value)
        except (TypeError, ValueError) as e:
            raise Error(f"input {name!r} is not a number or an array of numbers: {e}") from None
    shapes = infer(program, {v: getattr(x, "shape", ()) for v, x in env.items()})
    out_name, out_var = program.output
    if program.grads and shapes.get(out_var, ()) != ():
        raise Error(_not_scalar(program, out_name, out_var, shapes[out_var]))
    for ins in program.instrs:
        args = [env[a] if isinstance(a, str) else a for a in ins.args]
        try:
            env[ins.out] = apply(ins.op, xp, args, ins.params)
        except Exception as e:  # noqa: BLE001 - whatever the array library raises, named by equation
            raise Error(f"{ins.op} failed in {program.where(ins)}: {type(e).__name__}: {e}") from None
        if not keep:
            for f in ins.frees:
                del env[f]
    return env


def _not_scalar(program, name, variable, shape):
    """The output must be a scalar to have a gradient: say which equation, and how to reduce it."""
    made = next((i for i in program.instrs if i.out == variable), None)
    where = f" ({program.where(made)})" if made is not None and made.line is not None else ""
    return (f"the output {name!r}{where} has shape {shape}, but a gradient needs a scalar: differentiate "
            f"sum({name}) or mean({name}) instead, e.g. add the equation `loss = sum({name})`")
