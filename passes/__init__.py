"""Compiler passes: pure functions Graph -> Graph, and the pipeline that chains them."""

import inspect

from irgraph.ir.graph import Graph, gc_paused, parse_wrt
from irgraph.ir.program import Program

from .adjoint import adjoint
from .cse import cse
from .dce import dce
from .partials import attach_partials
from .schedule import schedule
from .simplify import simplify

# Forward clean-up first (so log(sigmoid(z)) is made stable before it is differentiated), then the
# reverse sweep, then clean-up of the whole forward+backward graph.
PIPELINE = (simplify, cse, attach_partials, adjoint, simplify, cse, dce)


def run_pipeline(graph: Graph, wrt=None, pipeline=PIPELINE) -> Graph:
    """Run each pass of `pipeline` over an op-level graph; a pass gets the parameters it names (wrt).

    Records (pass, nodes before, nodes after) in the graph's Meta.log.
    """
    options = {"wrt": parse_wrt(graph, wrt)}  # before simplify renames nodes: an equation is named as one
    log = []
    for p in pipeline:
        before = graph.number_of_nodes()
        wanted = inspect.signature(p).parameters
        graph = p(graph, **{k: v for k, v in options.items() if k in wanted})
        log.append((p.__name__, before, graph.number_of_nodes()))
    return graph.with_meta(log=tuple(log))


def compile_program(graph: Graph, wrt=None) -> Program:
    """The gradient Program of an op-level graph: the pipeline, then schedule."""
    with gc_paused():  # the whole pipeline allocates only acyclic dicts and tuples: no cycles to collect
        return schedule(run_pipeline(graph, wrt))


__all__ = ["PIPELINE", "adjoint", "attach_partials", "compile_program", "cse", "dce", "run_pipeline", "schedule",
           "simplify"]
