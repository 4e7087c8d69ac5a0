"""Pictures registered from above: Graph and Program draw themselves (`.draw()`, and inline in Jupyter).

The core never imports viz; this top-layer module gives its classes a `_repr_mimebundle_` and a `draw`
that do. `viz` is read at call time (attribute access), so any import order works.
"""

import html

import viz

from .ir.graph import Graph
from .ir.program import Program


def _mimebundle(self, include=None, exclude=None):
    """Jupyter shows the picture inline (viz.to_digraph; `viz.render` is the function, not the module); an
    op-level Graph also as the interactive page `irgraph render -o model.html` writes (in an iframe, so
    several on one notebook page keep their scripts apart)."""
    bundle = viz.to_digraph(self)._repr_mimebundle_(include, exclude)
    if isinstance(self, Graph) and self.level == "op" and (include is None or "text/html" in include):
        page = html.escape(viz.interactive(self), quote=True)
        bundle["text/html"] = f'<iframe srcdoc="{page}" style="width:100%;height:640px;border:0"></iframe>'
    return bundle


def draw_graph(self, inputs=None, highlight=None, wrt=None, stage="forward", ops=False):
    """The annotated graph as a graphviz.Digraph (Jupyter shows it; `.render()` or viz.render saves it).

    inputs: {name: value}, to show every node's value and gradient; highlight: colour every path from the
    output back to this name; wrt: the inputs being learned; stage, ops: as in viz.render.
    """
    return viz.to_digraph(self, highlight=highlight, inputs=inputs, stage=stage, ops=ops, wrt=wrt)


def draw_program(self, inputs=None, highlight=None, stage="backward"):
    """The compiled program as a graphviz.Digraph: stage "backward" (forward and backward sweeps) or
    "program" (one node per instruction); inputs: values to show, computed by running the program."""
    values = self.run(inputs) if inputs is not None else None
    return viz.to_digraph(self, highlight=highlight, values=values, inputs=inputs, stage=stage)


Graph._repr_mimebundle_ = _mimebundle
Program._repr_mimebundle_ = _mimebundle
Graph.draw = draw_graph
Program.draw = draw_program
