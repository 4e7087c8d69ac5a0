"""Pictures of irgraph models: Graphviz drawings of every compiler stage, and the chain rule as text.

    import viz
    viz.render(graph_or_program, "out.svg", highlight="w1", values=result)   # svg png pdf dot html
    viz.interactive(graph, inputs=values)                                    # the interactive page (HTML)
    viz.to_digraph(graph)                                                    # a graphviz.Digraph
    from viz.explain import explain; print(explain(graph, "w1"))
"""

from .render import interactive, render, to_digraph

__all__ = ["interactive", "render", "to_digraph"]
