"""Rebuilder: copy a graph node by node in topological order, letting a pass replace nodes on the way;
Extender: append nodes to a graph (the sweeps).

The one graph builder the rewriting passes share (simplify, cse): fresh node ids, the Kahn order of
Graph.topo, static shape classes of the new nodes, and the node view algebra.rewrite reads through.
"""

from .algebra import rewrite
from .expr import G, node_of, postorder
from .graph import Graph, gc_paused
from .shapes import SCALAR, shape_class


class Rebuilder:
    """Copy a graph node by node in topological order, letting a pass replace nodes on the way.

    It is also the builder that algebra.rewrite reads nodes through (value, op, args, const, make).
    """

    def __init__(self, graph, shapes=True):
        """shapes=False: a pass that never rewrites (cse) skips the shape classes."""
        self.graph = graph
        self.order = graph.order()
        self.old_nodes, self.old_args = graph.parts()
        self.nodes, self.operands, self.rep = {}, {}, {}
        self.shape = {} if shapes else None  # static shape classes of the new nodes
        self.next_id = graph.meta.next_id
        self.current = {}
        self.consts = {}  # {const node: its value}: `value` is this dict's get, a C call, as rewrite asks it often
        self.value = self.consts.get
        self.owned = set()  # nodes whose attribute dict is this pass's own (the others are shared, unchanged)

    def keep(self, n, args=()):
        """Keep node n (with operands `args`), sharing its attribute dict with the old graph."""
        self.nodes[n] = d = self.old_nodes[n]
        if args:
            self.operands[n] = args
        elif d["op"] == "const":
            self.consts[n] = d["value"]
        if self.shape is not None:
            self.shape[n] = shape_class(n, d["op"], args, self.shape)
        self.rep[n] = n
        return n

    def edit(self, n):
        """Node n's attribute dict, copied first if it is still shared with the old graph."""
        if n not in self.owned:
            self.nodes[n] = dict(self.nodes[n])
            self.owned.add(n)
        return self.nodes[n]

    def inherit(self, n):
        """When node n was replaced, its replacement carries on saying whose adjoint it is."""
        whose, new = self.old_nodes[n].get("adj_of"), self.rep[n]
        if whose is None or new == n or self.nodes[new].get("role") != "backward":
            return
        current = self.nodes[new].get("adj_of")
        if current is None or (current.startswith("%") and not whose.startswith("%")):  # names win
            self.edit(new)["adj_of"] = whose

    def keep_name(self, n):
        """When named node n was replaced by an unnamed operation, that operation carries on the name."""
        name, new = self.old_nodes[n].get("name"), self.rep[n]
        if name and new != n and not self.nodes[new].get("name") and self.nodes[new]["op"] != "const":
            self.edit(new)["name"] = name

    def finish(self):
        meta = self.graph.meta
        outputs = [self._named_output(o) for o in meta.outputs]
        grads, hvp = ({k: self.rep[v] for k, v in d.items()} if d is not None else None for d in (meta.grads, meta.hvp))
        values = meta.values
        if values is None:  # the first rebuild: every forward node as parsed
            values = {n: n for n, d in self.old_nodes.items() if d["op"] != "const" and d.get("role") != "backward"}
        adjoints = None if meta.adjoints is None else {k: self.rep[v] for k, v in meta.adjoints.items()}
        return Graph.from_args(self.nodes, self.operands, ordered=True, **dict(vars(meta), next_id=self.next_id, grads=grads,
                                                                  outputs=outputs,
                                                                  values={k: self.rep[v] for k, v in values.items()},
                                                                  adjoints=adjoints, hvp=hvp, jvp=self.rep.get(meta.jvp)))

    def _named_output(self, o):
        """The output's replacement, still under the user's name: `loss = x` or `loss = 3*2` become an
        `id` node called loss rather than the input x or a bare constant."""
        name, new = self.old_nodes[o].get("name"), self.rep[o]
        if not name or self.nodes[new].get("name") == name:
            return new
        self.current = self.old_nodes[o]
        node = self._new("id", (new,), name=name)
        self.rep[o] = node
        return node

    # The view algebra.rewrite needs (and `value`, set in __init__: a constant's value, else None).
    def op(self, n):
        return self.nodes[n]["op"]

    def args(self, n):
        return self.operands.get(n, ())

    def params(self, n):
        return self.nodes[n].get("params", ())

    def same_shape(self, x, y):
        return self.shape[x] == self.shape[y]

    def scalar(self, x):
        return self.shape[x] == SCALAR

    def const(self, value):
        return self._new("const", (), value=float(value))

    def make(self, op, args, params=()):
        return rewrite(op, tuple(args), params, self) or self._new(op, args, params=params)

    def _new(self, op, args, **attrs):
        node = f"%{self.next_id}"
        self.next_id += 1
        keep = {k: self.current[k] for k in ("line", "role") if k in self.current}
        self.nodes[node] = dict(keep, op=op, **{k: v for k, v in attrs.items() if v != ()})
        self.owned.add(node)
        if args:
            self.operands[node] = tuple(args)
        elif op == "const":
            self.consts[node] = attrs["value"]
        if self.shape is not None:
            self.shape[node] = shape_class(node, op, args, self.shape)
        return node




class Extender:
    """Append nodes to a graph: the builder of the sweeps (passes.adjoint, passes.forward).

    The attribute dicts of the graph's own nodes stay shared with it until `note` changes one; every node
    made gets `role` and the current `line`.
    """

    role = None  # what every node made is: "backward", "tangent" (set by each sweep)

    @classmethod
    def extend(cls, graph, wrt):
        """The graph with this sweep's nodes for the inputs `wrt` appended (cls.run, collector paused)."""
        with gc_paused():
            return cls(graph).run(list(wrt))

    def __init__(self, graph):
        self.graph = graph
        self.nodes, self.args = graph.parts()  # attribute dicts shared with `graph`: see note()
        self.partials = graph.partials() or {}
        self.next_id = graph.meta.next_id
        self.line = None

    def new(self, op, args=(), **attrs):
        node = f"%{self.next_id}"
        self.next_id += 1
        attrs["op"], attrs["role"], attrs["line"] = op, self.role, self.line  # the call's own dict: no copy
        self.nodes[node] = attrs
        if args:
            self.args[node] = tuple(args)
        return node

    def note(self, node, key, value, only_if_unset=False):
        """Set an attribute of `node`, copying its attribute dict first when it belongs to the input graph."""
        if self.nodes[node] is self.graph.attrs(node):  # still the input graph's own dict (no set of
            self.nodes[node] = dict(self.nodes[node])  # the nodes made: a note is rare, a new node is not)
        if not (only_if_unset and key in self.nodes[node]):
            self.nodes[node][key] = value

    def instantiate(self, expr, g=None):
        """Turn an expression over node references (a partial) into new nodes; G stands for the node `g`."""
        if expr.op == "var":  # most partials name an existing node: nothing to build
            return node_of(expr)
        if expr.args and all(a.op == "var" for a in expr.args):  # one op over existing nodes, like cos(x): no walk
            return self.new(expr.op, tuple([node_of(a) for a in expr.args]), **({"params": expr.attr} if expr.attr else {}))
        made = {}
        for e in postorder(expr):
            if e.op == "var":
                made[e] = node_of(e)
            elif e.op == "const":
                made[e] = self.new("const", value=e.attr)
            elif e is G:
                made[e] = g
            else:
                made[e] = self.new(e.op, [made[a] for a in e.args], **({"params": e.attr} if e.attr else {}))
        return made[expr]

    def shape_keys(self, topo):
        """Static shape classes of the given nodes, in topological order (see shapes.shape_class)."""
        key = {}
        for n in topo:
            key[n] = shape_class(n, self.nodes[n]["op"], self.args.get(n, ()), key)
        return key

    def finish(self, **meta):
        """The graph with the new nodes; `meta` replaces fields of the input graph's Meta."""
        # New nodes come after their operands, so a graph listed in order stays in order.
        return Graph.from_args(self.nodes, self.args, ordered=self.graph.ordered,
                               **dict(vars(self.graph.meta), next_id=self.next_id, **meta))
