"""irgraph.compile: model text (or a Graph) → Program, through the pass pipeline."""

from .errors import Error
from .graph import Graph, gc_paused, require_name
from .parse import parse


def compile(model, wrt=None, output=None):
    """Compile a model to a reverse-mode gradient Program.

    wrt: the inputs to differentiate with respect to (None: every input); output: the equation whose
    value and gradient are wanted (None: the last equation).
    """
    from passes import PIPELINE, schedule

    with gc_paused():  # the whole pipeline allocates only acyclic dicts and tuples: no cycles to collect
        return schedule(compile_graph(model, wrt, output, PIPELINE))


def compile_graph(model, wrt, output, passes):
    """Run `passes` over the model, recording (pass, nodes before, nodes after) in graph attr "log"."""
    if isinstance(model, str):
        graph = parse(model)
    elif isinstance(model, Graph):
        if model.level != "op":
            raise Error("compile needs the op-level graph from irgraph.parse, not the equation level")
        graph = model
    else:
        raise Error(f"compile takes model text or an irgraph.Graph, not {type(model).__name__}")
    graph = graph.copy()
    if output is not None:
        graph.nx.graph["outputs"] = [require_name(graph, output, "equation")]
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    graph.nx.graph["wrt"] = list(graph.inputs if wrt is None else wrt)
    if len(set(graph.nx.graph["wrt"])) != len(graph.nx.graph["wrt"]):
        raise Error(f"wrt lists a name twice: {graph.nx.graph['wrt']}")
    from passes.adjoint import _check_wrt

    for name in graph.nx.graph["wrt"]:  # before simplify renames nodes, so an equation name is named as one
        _check_wrt(graph, name)
    log = []
    for p in passes:
        before = graph.nx.number_of_nodes()
        graph = p(graph)
        log.append((p.__name__, before, graph.nx.number_of_nodes()))
    graph.nx.graph["log"] = log
    return graph
