"""cse: compute each distinct subexpression once, across the forward and backward parts alike.

Nodes are keyed by (op, params, operands) in topological order; a commutative op's operands are sorted, so
`a*b` and `b*a` match. Constants are keyed by value. Inputs are never merged.
"""

import math

from irgraph.ir.graph import Graph, gc_paused
from irgraph.ir.ops import OPS
from irgraph.ir.rebuild import Rebuilder

_COMMUTATIVE = frozenset(name for name, row in OPS.items() if row.commutative)


def cse(graph: Graph) -> Graph:
    """Merge nodes that compute the same thing."""
    with gc_paused():
        b = Rebuilder(graph, shapes=False)
        old_nodes, old_args, rep = b.old_nodes, b.old_args, b.rep
        seen = {}
        for n in b.order:
            d = old_nodes[n]
            op = d["op"]
            if op == "input":
                b.keep(n)
                continue
            ops = old_args.get(n)
            if not ops:
                args = ()
            elif len(ops) == 2:  # most nodes: no list to build, and two operands sort with one comparison
                a, c = rep[ops[0]], rep[ops[1]]
                args = (a, c)
                same_args = (c, a) if c < a and op in _COMMUTATIVE else args
            else:
                args = tuple([rep[a] for a in ops])
                same_args = tuple(sorted(args)) if op in _COMMUTATIVE else args
            if op == "const":
                key = ("const", d["value"], math.copysign(1.0, d["value"]))  # -0.0 is not 0.0: x/-0.0 = -inf
            else:
                key = (op, d.get("params", ()), same_args)
            same = seen.get(key)
            if same is None:
                seen[key] = b.keep(n, args)
            else:
                rep[n] = same
                b.inherit(n)
                if d.get("role", "forward") == "forward" and b.nodes[same].get("role") != "forward":
                    b.edit(same)["role"] = "forward"  # a backward node that repeats forward work
                if d.get("name") and not b.nodes[same].get("name"):
                    b.edit(same)["name"] = d["name"]
        return b.finish()
