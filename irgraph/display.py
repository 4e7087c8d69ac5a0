"""Notebook display, registered from above: Graph and Program draw themselves inline in Jupyter.

The core never imports viz; this top-layer module gives its classes a `_repr_mimebundle_` that does.
`viz` is read at display time (attribute access), so any import order works.
"""

import viz

from .ir.graph import Graph
from .ir.program import Program


def _mimebundle(self, include=None, exclude=None):
    """Jupyter shows the picture inline (viz.to_digraph; `viz.render` is the function, not the module)."""
    return viz.to_digraph(self)._repr_mimebundle_(include, exclude)


Graph._repr_mimebundle_ = _mimebundle
Program._repr_mimebundle_ = _mimebundle
