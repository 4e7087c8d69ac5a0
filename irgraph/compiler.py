"""irgraph.compile: model text (or a Graph) → Program, through the pass pipeline.

The top layer: it wires the core (irgraph.ir) and the passes together. `passes` is imported as a module
and read at call time, so importing `passes` or `viz` first (which import the core, and so this package's
__init__) works as well as importing irgraph first.
"""

import os

import passes

from .data import read_text
from .ir.errors import Error
from .ir.graph import Graph, gc_paused, require_name
from .ir.parse import parse


def compile(model, wrt=None, output=None, order=1, mode="reverse"):
    """Compile a model to a reverse-mode gradient Program.

    wrt: the inputs to differentiate with respect to (None: every input); output: the equation whose
    value and gradient are wanted (None: the model's default output). order=2: the Program computes the
    Hessian too (forward mode over the gradient). mode="forward": a forward-mode Program (irgraph.jvp).
    """
    if order not in (1, 2):
        raise Error(f"order must be 1 (gradients) or 2 (Hessians), not {order!r}")
    if mode not in ("reverse", "forward"):
        raise Error(f"mode must be 'reverse' or 'forward', not {mode!r}")
    if mode == "forward" and order != 1:
        raise Error("mode='forward' gives first derivatives; order=2 differentiates the reverse-mode gradient")
    pipeline = passes.SECOND_ORDER if order == 2 else passes.FORWARD if mode == "forward" else passes.PIPELINE
    with gc_paused():  # one pause for parse and passes: no collection scans the parsed graph in between
        return passes.compile_program(as_graph(model, output), wrt, pipeline)


def as_graph(model, output=None):
    """The op-level Graph of model text, a model file's path or a Graph (never mutated), with `output`
    as its output."""
    if isinstance(model, os.PathLike) or _looks_like_a_path(model):
        model = read_model(model)
    if isinstance(model, str):
        graph = parse(model)
    elif isinstance(model, Graph):
        if model.level != "op":
            raise Error("compile needs the op-level graph from irgraph.parse, not the equation level")
        graph = model
    else:
        raise Error(f"compile takes model text, a path or an irgraph.Graph, not {type(model).__name__}")
    if output is not None:
        graph = graph.with_meta(outputs=[require_name(graph, output, "equation")])
    return graph


def _looks_like_a_path(model):
    """One line without `=` that names a file, ends in .eq or has a slash: model text always has an `=`."""
    if not isinstance(model, str) or "=" in model or "\n" in model or not model.strip():
        return False
    return os.path.isfile(model) or model.endswith(".eq") or "/" in model or os.sep in model


def read_model(path):
    """The text of a model file; a missing one is an Error."""
    try:
        return read_text(path)
    except FileNotFoundError:
        raise Error(f"no model file {os.fspath(path)!r} (model text needs at least one `name = expression`)") from None
