"""simplify: algebraic clean-up (x*1 → x, x+0 → x, constant folding, --x → x, x/c → (1/c)*x, ...).

The rules live in irgraph.algebra and are the same ones expression building uses.
"""

from irgraph.ir.algebra import rewrite
from irgraph.ir.graph import Graph, gc_paused
from irgraph.ir.rebuild import Rebuilder


def simplify(graph: Graph) -> Graph:
    """Rewrite every node by the algebra's local rules, in topological order."""
    with gc_paused():
        b = Rebuilder(graph)
        for n in b.order:
            d = b.old_nodes[n]
            if n not in b.old_args:
                b.keep(n)
                continue
            args = tuple(b.rep[a] for a in b.old_args[n])
            b.current = d
            b.rep[n] = rewrite(d["op"], args, d.get("params", ()), b) or b.keep(n, args)
            b.inherit(n)
            b.keep_name(n)
        return b.finish()
