"""Pictures registered from above: Graph and Program draw themselves (`.draw()`, and inline in Jupyter).

The core never imports viz; this top-layer module gives its classes a `_repr_mimebundle_` and a `draw`
that do. `viz` is read at call time (attribute access), so any import order works.
"""

import viz

from .ir.errors import Error
from .ir.graph import Graph
from .ir.program import Program


def _mimebundle(self, include=None, exclude=None):
    """Jupyter shows the picture inline (viz.to_digraph; `viz.render` is the function, not the module)."""
    return viz.to_digraph(self)._repr_mimebundle_(include, exclude)


def draw_graph(self, inputs=None, highlight=None, wrt=None, stage="forward", ops=False):
    """The annotated graph as a graphviz.Digraph (Jupyter shows it; `.render()` or viz.render saves it).

    inputs: {name: value}, to show every node's value and gradient; highlight: colour every path from the
    output back to this name; wrt: the inputs being learned; stage, ops: as in viz.render.
    """
    from .compiler import compile

    values = None
    if inputs is not None:
        try:
            values = compile(self, wrt=wrt).run(inputs)
        except Error:  # e.g. a vector output has values but no gradient: still draw the values
            compile(self, wrt=[]).run(inputs)  # raises if the inputs themselves are wrong
    return viz.to_digraph(self, highlight=highlight, values=values, inputs=inputs, stage=stage, ops=ops, wrt=wrt)


def draw_program(self, inputs=None, highlight=None, stage="backward"):
    """The compiled program as a graphviz.Digraph: stage "backward" (forward and backward sweeps) or
    "program" (one node per instruction); inputs: values to show, computed by running the program."""
    values = self.run(inputs) if inputs is not None else None
    return viz.to_digraph(self, highlight=highlight, values=values, inputs=inputs, stage=stage)


Graph._repr_mimebundle_ = _mimebundle
Program._repr_mimebundle_ = _mimebundle
Graph.draw = draw_graph
Program.draw = draw_program
