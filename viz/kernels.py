"""The kernels stage: each kernel of passes/fuse.py as a cluster of the instructions it fuses, with the
arrays it reads and writes drawn outside the clusters, so one sees what one pass over the data computes."""

import graphviz
import numpy as np

import passes
from irgraph.ir.shapes import SHAPE_ONLY

from . import style

KIND = {"loop": "#eaf2e3", "scalar": "#f4f4f4", "blas": "#e3ecf7", "op": "#fbeee0"}


def kernel_digraph(program, inputs=None):
    """A graphviz.Digraph of the program's kernels, fused for the shapes of `inputs` when they are given."""
    shapes = None
    if inputs and all(name in inputs for name, _ in program.inputs):
        shapes = {v: np.shape(inputs[name]) for name, v in program.inputs}
    fused = passes.fuse(program, shapes)
    shape_of = {v: s for k in fused.kernels for v, s in k.shapes}
    dot = graphviz.Digraph(graph_attr={**style.GRAPH, "compound": "true"}, node_attr=style.NODE_DEFAULT,
                           edge_attr=style.EDGE_DEFAULT)
    arrays = set()

    def array(v):
        if v not in arrays:
            arrays.add(v)
            shape = shape_of.get(v)
            label = v if shape is None or shapes is None else f"{v}\n{shape}"
            dot.node(f"a_{v}", label, shape="ellipse", style="filled", fillcolor="#dbe9f6", color="#4a78a8")
        return f"a_{v}"

    for n, k in enumerate(fused.kernels):
        where = {}
        space = f" over {k.space}" if k.kind == "loop" and shapes is not None else ""
        with dot.subgraph(name=f"cluster_{n}") as c:
            c.attr(label=f"{k.name}: {k.kind}{space}", style="rounded,filled", fillcolor=KIND[k.kind],
                   color="#8a8a8a", fontname=style.MONO)
            for i, ins in enumerate(k.instrs):
                node = f"k{n}_{i}"
                where[ins.out] = node
                c.node(node, str(ins), shape="box", style="rounded,filled", fillcolor="white",
                       fontname=style.MONO, fontsize="11")
        for i, ins in enumerate(k.instrs):
            for pos, a in enumerate(ins.args):
                if not isinstance(a, str):
                    continue
                dashed = {"style": "dashed"} if pos in SHAPE_ONLY.get(ins.op, ()) else {}  # its shape only
                dot.edge(where[a] if a in where else array(a), f"k{n}_{i}", **dashed)
        for v in k.writes:
            dot.edge(where[v], array(v), color=style.GRAD)
    return dot
