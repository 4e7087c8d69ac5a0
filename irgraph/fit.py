"""irgraph.fit: learn a model's parameters from data with gradient steps.

The loop compiles the model once and then calls the generated gradient function once per step; the
optimiser updates are a few array operations on the (small) parameters. A loss that turns NaN or Inf
stops the fit with a DivergedError that still carries the last parameters whose loss was finite.
"""

import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy

from . import api, compiler
from . import data as datalib
from .backends import batch, devices, finite
from .backends import dask as dask_device
from .ir.errors import Error
from .ir.graph import require_input

OPTIMIZERS = ("sgd", "momentum", "adam", "newton")
DEFAULT_LR = {"sgd": 1e-2, "momentum": 1e-2, "adam": 1e-2, "newton": 1.0}
INITS = ("zeros", "normal")
NORMAL_STD = 0.1  # init="normal": independent N(0, 0.1²) entries, small enough for tanh and sigmoid units


class DivergedError(Error):
    """The loss became NaN or Inf; `.result` holds the last parameters whose loss was finite."""

    def __init__(self, message, step, result):
        super().__init__(message)
        self.step, self.result = step, result


@dataclass
class FitResult:
    """What fit returns: the learned parameters, the loss history, and how the fit went."""

    params: dict  # {name: array}: the learned parameters
    history: dict  # {"loss": array per step} and {"val_loss": ...} when a validation split was given
    loss: float  # the loss of the final parameters on all the training data
    val_loss: float | None
    steps: int
    seconds: float
    optimizer: str
    lr: float
    device: str = "numpy"
    constants: dict = field(default_factory=dict)  # inputs held fixed (from init), neither data nor learned

    def summary(self):
        """One line: steps, speed, and the loss from the first step to the final parameters."""
        rate = self.steps / self.seconds if self.seconds > 0 else float("inf")
        first = self.history["loss"][0] if len(self.history["loss"]) else self.loss
        val = f", validation loss {self.val_loss:.4g}" if self.val_loss is not None else ""
        return (f"fit: {self.steps} steps of {self.optimizer} (lr {self.lr:g}) in {self.seconds:.2f} s "
                f"({rate:.0f} steps/s): loss {first:.4g} -> {self.loss:.4g}{val}")

    def save(self, path):
        """Write the learned parameters (and the fixed inputs) as JSON: `irgraph run --inputs` reads it."""
        values = {**self.constants, **self.params}
        with open(path, "w", encoding="utf-8") as f:
            f.write(_json_object({k: numpy.asarray(v).tolist() for k, v in values.items()}))
        return path

    def plot(self, path):
        """Draw the loss curve to a .png, .svg or .pdf file; log-scale y when the loss spans decades."""
        suffix = os.path.splitext(str(path))[1].lower()
        if suffix not in (".png", ".svg", ".pdf"):
            raise Error(f"{path}: the loss plot must be a .png, .svg or .pdf file")
        try:
            from matplotlib.figure import Figure  # the object API: no pyplot, no global backend switch
        except ImportError:
            raise Error("plotting the loss needs matplotlib: pip install 'irgraph[fit]'") from None
        fig = Figure(figsize=(6.4, 4.0), layout="constrained")
        ax = fig.add_subplot()
        curves = [("loss", "training loss (batch)" if self.history.get("batched") else "training loss")]
        if "val_loss" in self.history:
            curves.append(("val_loss", "validation loss"))
        steps = numpy.arange(1, len(self.history["loss"]) + 1)
        for key, label in curves:
            ax.plot(steps, self.history[key], label=label, linewidth=1.2)
        if spans_decades(numpy.concatenate([self.history[k] for k, _ in curves])):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(f"{self.optimizer}, lr {self.lr:g}: final loss {self.loss:.4g}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.savefig(path, dpi=120)
        return path


def spans_decades(values):
    """True when positive losses cover a factor of 100 or more: a log axis shows them better."""
    values = numpy.asarray(values, dtype=float)
    values = values[numpy.isfinite(values)]
    return values.size > 1 and values.min() > 0 and values.max() / values.min() >= 100


def fit(model, data, init="zeros", wrt=None, optimizer="adam", lr=None, steps=1000, batch_size=None, seed=0,
        device="auto", progress=True, val_split=0.0, shapes=None, output=None, chunks=None):
    """Fit the model's parameters to data; a FitResult (.params, .history, .plot(path)).

    data: {name: array} or a file (.csv .json .npz .npy .zarr); init: {name: value}, a JSON file, or
    "zeros"/"normal" with `shapes` ({name: (3, 1)} or "w=3x1,b=1"); wrt: the parameters (default: every
    input that is not in the data); lr: the step size (default: 1e-2, 1 for newton); batch_size: rows per
    step, drawn by a seeded shuffle (default: all); val_split: the fraction of rows held out.
    """
    if optimizer not in OPTIMIZERS:
        raise Error(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if not isinstance(steps, int) or steps < 1:
        raise Error(f"steps must be a positive whole number, not {steps!r}")
    lr = DEFAULT_LR[optimizer] if lr is None else float(lr)
    if not lr > 0:
        raise Error(f"the learning rate must be positive, not {lr}")
    graph = compiler.as_graph(_model_text(model), output)
    values = datalib.load(data)
    for name in values:
        _data_name(graph, name)
    params, constants = _parameters(graph, values, init, wrt, shapes, seed)
    rng = numpy.random.default_rng(seed)
    runner = _runner(graph, list(params), device, chunks)
    train, val, batches = runner.prepare(values, val_split, batch_size, rng)
    val_runner = _runner(graph, [], runner.device, chunks) if val is not None else None
    update = _optimizer(optimizer, lr, runner, graph, params)

    fixed = {**train, **constants}
    params = {k: runner.to_device(v) for k, v in params.items()}
    losses, val_losses = [], []
    last = params  # the parameters of the last step whose loss was finite

    def finish(params, steps, seconds):
        """The FitResult of `params`, with their loss on all the training (and validation) data."""
        history = {"loss": numpy.asarray(losses, dtype=float)}
        val_loss = None
        if val is not None:
            history["val_loss"] = numpy.asarray(val_losses, dtype=float)
            val_loss = float(val_runner({**val, **constants, **params})[0])
        if batches is not None:
            history["batched"] = True
        host = {k: numpy.asarray(devices.to_numpy(v), dtype=float) for k, v in params.items()}
        return FitResult(host, history, float(runner({**fixed, **params})[0]), val_loss, steps, seconds,
                         optimizer, lr, runner.device, dict(constants))

    start = time.perf_counter()
    with _Bar(steps, progress) as bar, warnings.catch_warnings(), numpy.errstate(all="ignore"):
        warnings.simplefilter("ignore", finite.NonFiniteWarning)  # a diverging fit is reported as such, below
        for step in range(1, steps + 1):
            inputs = {**fixed, **next(batches), **params} if batches else {**fixed, **params}
            value, grads = runner(inputs)
            loss = float(value)
            if not math.isfinite(loss):
                result = finish(last, step - 1, time.perf_counter() - start)
                raise DivergedError(_diverged(loss, step, optimizer, lr), step, result)
            losses.append(loss)
            if val is not None:
                val_losses.append(float(val_runner({**val, **constants, **params})[0]))
            last, params = params, update(params, grads, inputs)
            bar.step(loss)
    result = finish(params, steps, time.perf_counter() - start)
    if progress:
        print(result.summary(), file=sys.stderr)
    return result


def _diverged(loss, step, optimizer, lr):
    if step == 1:
        return f"the loss is {loss} at the starting parameters (step 1): check the data and init"
    return (f"the loss became {loss} at step {step} ({optimizer}, lr {lr:g}): the learning rate is probably "
            f"too large; try a smaller --lr, e.g. {lr / 10:g}. The parameters kept are those of step "
            f"{step - 1}, the last with a finite loss")


# ---- the model's names: data, parameters, fixed inputs -----------------------------------------------------

def _model_text(model):
    """Model text from text, a path to a model file, or a Graph (returned as it is)."""
    if isinstance(model, os.PathLike) or (isinstance(model, str) and "=" not in model and os.path.isfile(model)):
        with open(model, encoding="utf-8") as f:
            return f.read()
    return model


def _data_name(graph, name):
    try:
        require_input(graph, name)
    except Error as e:
        raise Error(f"the data has {name!r}, which the model does not use: {e}") from None


def _parameters(graph, values, init, wrt, shapes, seed):
    """({learned name: float array}, {fixed name: array}): the inputs that are not data, with their start."""
    learned = list(wrt) if wrt is not None else [n for n in graph.inputs if n not in values]
    for name in learned:
        require_input(graph, name)
        if name in values:
            raise Error(f"{name!r} is in the data, so it cannot also be a parameter to learn (--wrt)")
    if not learned:
        raise Error("nothing to learn: every input of the model is in the data; name the parameters with wrt")
    others = [n for n in graph.inputs if n not in values]
    start = _init(init, others, shapes, seed, graph)
    missing = [n for n in others if n not in start]
    if missing:
        listed = ", ".join(repr(n) for n in missing)
        raise Error(f"no starting value for {listed}: not in the data and not in init; give them in init "
                    f"(a JSON file or mapping), or use init='zeros' with their shapes")
    params = {n: numpy.array(start[n], dtype=float) for n in learned}
    constants = {n: start[n] for n in others if n not in params}
    return params, constants


def _init(init, names, shapes, seed, graph):
    """{name: starting value} from a mapping, a JSON file, or "zeros"/"normal" with shapes."""
    if isinstance(init, str) and init in INITS:
        shapes = parse_shapes(shapes)
        for name in shapes:
            require_input(graph, name)
        missing = [n for n in names if n not in shapes]
        if missing:
            example = ",".join(f"{n}=3x1" if i == 0 else f"{n}=1" for i, n in enumerate(missing))
            raise Error(f"init={init!r} needs the shape of {', '.join(repr(n) for n in missing)}: give it as "
                        f"{example} (--shape; 'scalar' for a number)")
        rng = numpy.random.default_rng(seed)
        if init == "zeros":
            return {n: numpy.zeros(shapes[n]) for n in names}
        return {n: rng.normal(0.0, NORMAL_STD, size=shapes[n]) for n in names}
    if isinstance(init, str) and not os.path.exists(init) and not init.endswith(".json"):
        raise Error(f"init must be a JSON file, a mapping, or one of {', '.join(INITS)}; not {init!r}")
    return datalib.load(init)


def parse_shapes(shapes):
    """{name: shape tuple} from a mapping or text like "w=3x1,b=scalar" ("1" is shape (1,))."""
    if shapes is None:
        return {}
    if hasattr(shapes, "keys"):
        return {k: _shape(k, v) for k, v in shapes.items()}
    out = {}
    for item in [s for part in ([shapes] if isinstance(shapes, str) else shapes) for s in part.split(",")]:
        name, eq, dims = item.partition("=")
        if not eq or not name.strip():
            raise Error(f"a shape is given as NAME=DIMS, like w=3x1 or b=scalar; got {item.strip()!r}")
        out[name.strip()] = _shape(name.strip(), dims.strip())
    return out


def _shape(name, dims):
    if isinstance(dims, str):
        if dims in ("", "scalar", "()"):
            return ()
        try:
            dims = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            raise Error(f"the shape of {name!r} must look like 3x1, 3 or scalar, not {dims!r}") from None
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if any(not isinstance(d, (int, numpy.integer)) or d < 1 for d in dims):
        raise Error(f"the shape of {name!r} must have positive whole dimensions, not {dims!r}")
    return dims


# ---- data: validation split and mini-batches -----------------------------------------------------------------

def _check_split(val_split):
    if not 0 < val_split < 1:
        raise Error(f"the validation split must be a fraction between 0 and 1, not {val_split}")


def _check_batch_size(batch_size):
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise Error(f"the batch size must be a positive whole number, not {batch_size!r}")


def _split(values, val_split, rng):
    """(training data, validation data or None): a seeded random `val_split` of the rows is held out."""
    if not val_split:
        return values, None
    _check_split(val_split)
    n, axes = batch.batch_axes(values)
    n_val = round(n * val_split)
    if not axes or n_val < 1 or n_val >= n:
        raise Error(f"a validation split of {val_split} leaves no rows on one side ({n} rows in the data)")
    order = rng.permutation(n)
    return (batch.take(values, axes, numpy.sort(order[n_val:]), numpy),
            batch.take(values, axes, numpy.sort(order[:n_val]), numpy))


def _batches(values, batch_size, rng, xp):
    """An endless iterator of {name: rows} mini-batches (reshuffled every pass), or None for full batches."""
    _check_batch_size(batch_size)
    n, axes = batch.batch_axes(values)
    if batch_size is None or batch_size >= n:
        return None
    batched = {k: v for k, v in values.items() if k in axes}

    def generate():
        while True:
            order = xp.asarray(rng.permutation(n))
            for lo in range(0, n - batch_size + 1, batch_size):  # a short last batch is dropped
                yield batch.take(batched, axes, order[lo:lo + batch_size], xp)

    return generate()


# ---- running the program ----------------------------------------------------------------------------------

def _runner(graph, wrt, device, chunks):
    """A callable inputs -> (value, grads) on `device`, with .xp, .device, .prepare(data) and .to_device."""
    return _DaskRunner(graph, wrt, chunks) if device == "dask" else _Runner(graph, wrt, device)


class _Runner:
    """irgraph.value_and_grad: after one checked call, each step is one call of the generated module."""

    def __init__(self, graph, wrt, device, chunks=None):
        self.function = api.Function(graph, wrt=wrt, device=device, chunks=chunks)
        self.xp, self.device = devices.get_xp(device) if device in ("numpy", "cupy", "auto") else (numpy, device)

    def __call__(self, inputs):
        return self.function(inputs)

    def place(self, values):
        from .backends.runtime import _array

        return {k: v if type(v) is float else _array(self.xp, numpy.asarray(v)) for k, v in values.items()}

    def prepare(self, values, val_split, batch_size, rng):
        """(training data, validation data or None, mini-batches or None) on this runner's device."""
        train, val = _split(values, val_split, rng)
        train = self.place(train)
        return train, None if val is None else self.place(val), _batches(train, batch_size, rng, self.xp)

    def to_device(self, x):
        return self.xp.asarray(x)


class _DaskRunner(_Runner):
    """Each step is one dask.compute of the value and every gradient; the data stay Dask arrays."""

    def __init__(self, graph, wrt, chunks):
        super().__init__(graph, wrt, "dask", chunks)
        self.xp, self.chunks = numpy, chunks  # the parameters stay small NumPy arrays

    def prepare(self, values, val_split, batch_size, rng):
        """Data as Dask arrays with aligned chunks; the validation split and mini-batches are whole chunks."""
        train, axes = dask_device.aligned(values, self.chunks)
        val = None
        if val_split:
            _check_split(val_split)
            train, val = dask_device.split_blocks(train, axes, val_split, rng)
        _check_batch_size(batch_size)
        n, _ = batch.batch_axes(train)
        batches = None if batch_size is None or batch_size >= n else \
            dask_device.block_batches(train, axes, batch_size, rng)
        return train, val, batches


# ---- optimisers ---------------------------------------------------------------------------------------------

def _optimizer(name, lr, runner, graph, params):
    """update(params, grads, inputs) -> new params, for the named optimiser (state kept in the closure)."""
    if name == "newton":
        return _newton(lr, runner, graph, params)
    xp = runner.xp
    state = {"t": 0, "m": {}, "v": {}}
    beta1, beta2, eps, mu = 0.9, 0.999, 1e-8, 0.9

    def update(params, grads, inputs):
        state["t"] += 1
        t, new = state["t"], {}
        for k, p in params.items():
            g = _full(xp, grads[k], p)
            if name == "sgd":
                new[k] = p - lr * g
            elif name == "momentum":
                v = state["v"][k] = mu * state["v"].get(k, 0.0) + g
                new[k] = p - lr * v
            else:  # adam (Kingma & Ba 2015, with bias correction)
                m = state["m"][k] = beta1 * state["m"].get(k, 0.0) + (1 - beta1) * g
                v = state["v"][k] = beta2 * state["v"].get(k, 0.0) + (1 - beta2) * g * g
                new[k] = p - lr * (m / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)) ** 0.5 + eps)
        return new

    return update


def _full(xp, g, p):
    """The gradient at its parameter's shape: a gradient that is a constant comes back as a number."""
    if getattr(g, "shape", ()) != p.shape:
        g = xp.broadcast_to(xp.asarray(g, dtype=p.dtype), p.shape)
    return g


NEWTON_MAX_PARAMS = 1000  # a step builds the P x P Hessian from P Hessian-vector products and solves it


def _newton(lr, runner, graph, params):
    """Exact Newton steps: p <- p - lr * H^-1 g, with H the Hessian of the loss in all the parameters
    flattened into one vector (irgraph.hessian), solved on the host."""
    from .higher import hessian

    wrt = list(params)
    sizes = [int(numpy.size(params[k])) for k in wrt]
    total = sum(sizes)
    if total > NEWTON_MAX_PARAMS:
        raise Error(f"optimizer 'newton' solves with the full Hessian, and the parameters {', '.join(wrt)} have "
                    f"{total} entries (at most {NEWTON_MAX_PARAMS}); use adam (or sgd, momentum) instead")
    if runner.device == "dask":
        raise Error("optimizer 'newton' runs on numpy or cupy, not on device 'dask' (the Hessian is not computed "
                    "on Dask arrays); use adam, or --device numpy")
    second = hessian(graph, wrt=wrt, device="cupy" if runner.device == "cupy" else "numpy")
    xp, state = runner.xp, {"step": 0}

    def update(params, grads, inputs):
        state["step"] += 1
        h = second(inputs)
        matrix = numpy.block([[numpy.reshape(h[a][b], (m, n)) for b, n in zip(wrt, sizes)]
                              for a, m in zip(wrt, sizes)])
        g = numpy.concatenate([numpy.ravel(devices.to_numpy(_full(xp, grads[k], params[k]))) for k in wrt])
        if not numpy.all(numpy.isfinite(matrix)):
            raise Error(f"optimizer 'newton': the Hessian of the loss is not finite at step {state['step']}; "
                        "use adam (or a smaller --lr)")
        if numpy.linalg.matrix_rank(matrix) < total:
            raise Error(f"optimizer 'newton': the Hessian of the loss with respect to {', '.join(wrt)} is singular "
                        f"at step {state['step']} (the loss is flat along some direction of the parameters, so the "
                        "Newton step is not defined); use adam (or sgd, momentum) instead")
        step = numpy.linalg.solve(matrix, g)
        new, at = {}, 0
        for k, n in zip(wrt, sizes):
            p = params[k]
            new[k] = p - lr * xp.asarray(step[at:at + n].reshape(p.shape), dtype=p.dtype)
            at += n
        return new

    return update


# ---- progress --------------------------------------------------------------------------------------------------

class _Bar:
    """A tqdm bar on stderr (step, loss, steps/s) when wanted and stderr is a terminal; else nothing."""

    def __init__(self, steps, show):
        self.bar, self.last = None, 0.0
        if show and sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=steps, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)

    def step(self, loss):
        if self.bar is None:
            return
        now = time.perf_counter()
        if now - self.last > 0.1:  # setting the postfix costs more than a small model's step
            self.last = now
            self.bar.set_postfix_str(f"loss={loss:.4g}", refresh=False)
        self.bar.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def _json_object(values):
    """Pretty JSON with one line per parameter (short lists stay on their line)."""
    import json

    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in values.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"
