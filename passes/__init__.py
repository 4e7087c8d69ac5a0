"""Compiler passes: pure functions Graph -> Graph, and the pipeline that chains them."""

import dataclasses
import inspect
import os

from irgraph.ir.graph import Graph, gc_paused, parse_wrt
from irgraph.ir.program import Program

from .adjoint import adjoint
from .cse import cse
from .dce import dce
from .forward import forward
from .fuse import fuse
from .partials import attach_partials
from .schedule import schedule
from .simplify import simplify

# Forward clean-up first (so log(sigmoid(z)) is made stable before it is differentiated), then the
# reverse sweep, then clean-up of the whole forward+backward graph.
PIPELINE = (simplify, cse, attach_partials, adjoint, simplify, cse, dce)
# Forward mode: tangents through the model (jvp).
FORWARD = (simplify, cse, attach_partials, forward, simplify, cse, dce)
# Second order: the gradient graph, then forward mode over it, whose tangents are Hessian-vector products;
# the last clean-up shares work across the three sweeps.
SECOND_ORDER = (*PIPELINE, attach_partials, forward, simplify, cse, dce)


def run_pipeline(graph: Graph, wrt=None, pipeline=PIPELINE) -> Graph:
    """Run each pass of `pipeline` over an op-level graph; a pass gets the parameters it names (wrt).

    Records (pass, nodes before, nodes after) in the graph's Meta.log. With IRGRAPH_VERIFY=1 the graph
    is checked (Graph.verify) before the first pass and after each one.
    """
    check = verifying()
    options = {"wrt": parse_wrt(graph, wrt)}  # before simplify renames nodes: an equation is named as one
    log = []
    if check:
        graph.verify()
    for p in pipeline:
        before = graph.number_of_nodes()
        wanted = inspect.signature(p).parameters
        graph = p(graph, **{k: v for k, v in options.items() if k in wanted})
        log.append((p.__name__, before, graph.number_of_nodes()))
        if check:
            _verify_after(p, graph)
    return graph.with_meta(log=tuple(log))


def compile_program(graph: Graph, wrt=None, pipeline=PIPELINE) -> Program:
    """The gradient Program of an op-level graph (or what `pipeline` computes): the pipeline, then schedule
    (checked by Program.verify with IRGRAPH_VERIFY=1)."""
    with gc_paused():  # the whole pipeline allocates only acyclic dicts and tuples: no cycles to collect
        program = dataclasses.replace(schedule(run_pipeline(graph, wrt, pipeline)), fuser=fuse)
    return program.verify() if verifying() else program


def verifying():
    """True when IRGRAPH_VERIFY=1: the compiler checks its IR after every pass (the test suite sets it)."""
    return os.environ.get("IRGRAPH_VERIFY") == "1"


def _verify_after(p, graph):
    try:
        graph.verify()
    except AssertionError as e:
        raise AssertionError(f"after pass {p.__name__}: {e}") from None


__all__ = ["FORWARD", "PIPELINE", "SECOND_ORDER", "adjoint", "attach_partials", "compile_program", "cse", "dce",
           "forward", "fuse", "run_pipeline", "schedule", "simplify", "verifying"]
