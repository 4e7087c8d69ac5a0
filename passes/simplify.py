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
        old_nodes, old_args, rep = b.old_nodes, b.old_args, b.rep
        for n in b.order:
            ops = old_args.get(n)
            if ops is None:
                b.keep(n)
                continue
            d = old_nodes[n]
            args = (rep[ops[0]], rep[ops[1]]) if len(ops) == 2 else tuple([rep[a] for a in ops])
            b.current = d
            new = rep[n] = rewrite(d["op"], args, d.get("params", ()), b) or b.keep(n, args)
            if new != n:  # replaced: the replacement carries on its adjoint and name
                b.inherit(n)
                b.keep_name(n)
        return b.finish()
