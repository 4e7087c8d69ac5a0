"""`Graph`: the IR, a thin wrapper over a `networkx.MultiDiGraph`.

Node attributes: `op` (an ops.OPS name, "input" or "const"), `name` (where the user named the value),
`value` (a const's number), `params` (an op's constant parameters as (name, value) pairs in its
row's order: the axis of sum, the bounds of clip), `line` (the equation it came from) and `role`
("forward" or "backward"). Edge attributes: `pos`, the operand position (`x * x` has two edges), and after
`passes.attach_partials`, `partial`. Graph attributes: `outputs` (node ids), `grads` ({input name: node id},
once compiled), `level` ("op" or "equation") and `lines` (the model text, for error messages).

Named nodes use their name as node id; unnamed ones are "%N". Pure passes copy, never mutate.
"""

import contextlib
import gc

import networkx as nx

from .errors import Error, did_you_mean
from .expr import Expr, postorder, to_text, var
from .ops import OPS


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a pass builds many small acyclic dicts.

    On a 100,000-equation model the collector's repeated scans cost more than the pass itself.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class Graph:
    def __init__(self, g):
        self.nx = g

    # ---- reading ----------------------------------------------------------------------------------------
    @property
    def inputs(self):
        """Names of the inputs (names used but never defined), in order of first use."""
        return [n for n, d in self.nx.nodes(data=True) if d["op"] == "input"]

    @property
    def outputs(self):
        return list(self.nx.graph["outputs"])

    @property
    def grads(self):
        return dict(self.nx.graph.get("grads", {}))

    @property
    def level(self):
        return self.nx.graph["level"]

    def operands(self, node):
        """The node's operands in position order."""
        edges = sorted(self.nx.in_edges(node, data="pos"), key=lambda e: e[2])
        return [u for u, _, _ in edges]

    def topo(self):
        """Node ids in a topological order: Kahn's algorithm, iterative, stable in insertion order."""
        waiting = {n: len(p) for n, p in self.preds.items()}
        order = kahn(list(waiting), waiting, self.succs.__getitem__)
        if len(order) != len(waiting):
            raise Error("the graph has a cycle")
        return order

    @property
    def preds(self):
        """{node: {operand: {key: edge attrs}}}: networkx's own adjacency dicts, read-only; 3x faster than
        its views on big graphs, and the one place outside this file that needs them goes through here."""
        return self.nx._pred

    @property
    def succs(self):
        """{node: {user: {key: edge attrs}}}, read-only, like `preds`."""
        return self.nx._succ

    def ancestors(self, nodes):
        """The given nodes and every node they depend on (an iterative walk)."""
        return _walk(nodes, self.preds)

    def descendants(self, nodes):
        """The given nodes and every node that depends on them (an iterative walk)."""
        return _walk(nodes, self.succs)

    def parts(self):
        """({id: attrs}, {id: operand ids in position order}): the graph as plain dicts, for passes.

        Fresh dicts each call (the attribute dicts inside are the graph's own). A graph built by
        from_args remembers its operand table, so the next pass does not re-derive it from the edges.
        """
        g = self.nx
        known = self.__dict__.get("_args")
        if known is not None and len(known[0]) == g.number_of_nodes() and known[1] == g.graph.get("next_id"):
            return dict(g._node), dict(known[2])
        args = {}
        for v, preds in g._pred.items():
            if preds:
                ops = [(d["pos"], u) for u, keyed in preds.items() for d in keyed.values()]
                ops.sort()
                args[v] = tuple(u for _, u in ops)
        return dict(g.nodes(data=True)), args

    @classmethod
    def from_args(cls, nodes, args, **graph_attrs):
        """A Graph from {id: attrs} and {id: operand ids}, edges keyed by operand position."""
        edges = ((a, v, i, {"pos": i}) for v, ops in args.items() for i, a in enumerate(ops))
        graph = cls.from_parts(nodes, edges, **graph_attrs)
        graph._args = (nodes, graph_attrs.get("next_id"), dict(args))
        return graph

    def names(self):
        """Named nodes: inputs and named equations."""
        return [n for n, d in self.nx.nodes(data=True) if d.get("name")]

    # ---- building -----------------------------------------------------------------------------------------
    @classmethod
    def from_parts(cls, nodes, edges, **graph_attrs):
        """A Graph from {id: attrs} and (u, v, key, attrs) edges, filled in bulk.

        networkx's add_edges_from does per-edge bookkeeping that made a 100,000-equation parse take
        seconds; writing its adjacency dicts directly (the layout networkx documents for subclasses)
        is several times faster and gives the identical structure.
        """
        g = nx.MultiDiGraph(**graph_attrs)
        g._node.update(nodes)
        succ, pred = g._succ, g._pred
        for n in nodes:
            succ[n], pred[n] = {}, {}
        for u, v, k, d in edges:
            su = succ[u]
            (su[v] if v in su else su.setdefault(v, {}))[k] = d
            pv = pred[v]
            (pv[u] if u in pv else pv.setdefault(u, {}))[k] = d
        return cls(g)

    def copy(self):
        """A deep enough copy: new attribute dicts, so a pass can annotate it freely."""
        g = self.nx
        with gc_paused():
            edges = ((u, v, k, dict(d)) for u, v, k, d in g.edges(keys=True, data=True))
            return Graph.from_parts({n: dict(d) for n, d in g.nodes(data=True)}, edges, **g.graph)

    # ---- the two levels -----------------------------------------------------------------------------------
    def expressions(self):
        """Each node as an Expr over named variables: named nodes are leaves, the rest inline."""
        exprs, rhs = {}, {}
        for n in self.topo():
            d = self.nx.nodes[n]
            if d["op"] == "const":
                e = Expr("const", (), float(d["value"]))
            elif d["op"] == "input":
                e = None
            else:
                e = Expr(d["op"], tuple(exprs[a] for a in self.operands(n)), d.get("params", ()))
            if d.get("name"):
                rhs[n] = e
                exprs[n] = var(d["name"])
            else:
                exprs[n] = e
        return exprs, rhs

    def equations(self):
        """The equation-level Graph: one node per input or named equation, holding its right-hand side."""
        _, rhs = self.expressions()
        eq = nx.MultiDiGraph(outputs=list(self.nx.graph["outputs"]), level="equation",
                             lines=self.nx.graph["lines"], next_id=0)
        for n, e in rhs.items():
            d = self.nx.nodes[n]
            eq.add_node(n, op="input" if e is None else "equation", name=d["name"], expr=e, line=d.get("line"))
        for n, e in rhs.items():
            if e is None:
                continue
            used = []
            for s in _leaves(e):
                if s.attr[0] not in used:
                    used.append(s.attr[0])
            for pos, u in enumerate(used):
                eq.add_edge(u, n, pos=pos)
        if "grads" in self.nx.graph:
            eq.graph["grads"] = dict(self.nx.graph["grads"])
        return Graph(eq)

    # ---- printing -----------------------------------------------------------------------------------------
    def pretty(self):
        """The equations, one per line, in an order where each name is defined before it is used."""
        if self.level == "equation":
            rhs = {n: d["expr"] for n, d in self.nx.nodes(data=True)}
        else:
            _, rhs = self.expressions()
        return "\n".join(f"{n} = {to_text(rhs[n])}" for n in self.topo() if rhs.get(n) is not None)

    __str__ = pretty

    def __repr__(self):
        return (f"<irgraph.Graph {self.level} level: {self.nx.number_of_nodes()} nodes, "
                f"inputs {self.inputs}, outputs {self.outputs}>")

    # ---- checking -----------------------------------------------------------------------------------------
    def verify(self):
        """Check the IR's invariants; raises AssertionError naming the first broken one."""
        g = self.nx
        assert nx.is_directed_acyclic_graph(g), "graph has a cycle"
        for n, d in g.nodes(data=True):
            op = d.get("op")
            assert op is not None, f"node {n} has no op"
            if self.level == "equation":
                assert op in ("input", "equation"), f"node {n}: {op}"
                continue
            if op in ("input", "const"):
                assert g.in_degree(n) == 0, f"leaf {n} has operands"
                assert op != "const" or isinstance(d.get("value"), float), f"const {n} has no float value"
                continue
            assert op in OPS, f"node {n}: unknown op {op}"
            positions = sorted(p for _, _, p in g.in_edges(n, data="pos"))
            assert positions == list(range(OPS[op].arity)), f"node {n} ({op}) has operands {positions}"
        for o in g.graph["outputs"]:
            assert o in g, f"output {o} is not a node"
        for name, node in g.graph.get("grads", {}).items():
            assert node in g, f"gradient of {name} is not a node"
        return self


def kahn(nodes, waiting, successors, depth_first=False):
    """Kahn's algorithm: `nodes` in an order where each comes after everything it waits for.

    waiting: {node: how many of its predecessors are among `nodes`}, used up as the walk goes;
    successors(node): its users (those not in `waiting` are ignored). Breadth-first keeps the given order
    among ready nodes; depth-first puts each node's users right after it. Nodes on or behind a cycle are
    left out: compare the lengths.
    """
    if not depth_first:
        order = [n for n in nodes if waiting[n] == 0]
        for n in order:  # the list grows while we walk it
            for m in successors(n):
                if m in waiting:
                    waiting[m] -= 1
                    if waiting[m] == 0:
                        order.append(m)
        return order
    order, stack = [], [n for n in reversed(nodes) if waiting[n] == 0]
    while stack:
        n = stack.pop()
        order.append(n)
        for m in reversed(list(successors(n))):
            if m in waiting:
                waiting[m] -= 1
                if waiting[m] == 0:
                    stack.append(m)
    return order


def _walk(starts, step):
    seen, todo = set(starts), list(starts)
    while todo:
        for m in step[todo.pop()]:
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def _leaves(e):
    return [s for s in postorder(e) if s.op == "var"]


def require_input(graph, name):
    """`name` if it is an input of the model, else an Error that says what it is or suggests a close name."""
    d = graph.nx.nodes.get(name)
    if d is not None and d.get("op") == "input":
        return name
    if d is not None and d.get("name") == name:
        raise Error(f"cannot take the gradient with respect to {name!r}: it is computed by an equation "
                    f"(line {d.get('line')}), not an input of the model")
    hint = did_you_mean(name, graph.inputs)
    raise Error(f"{name!r} is not an input of the model{hint} (inputs: {', '.join(graph.inputs)})")


def parse_wrt(graph, wrt):
    """The list of inputs to differentiate with respect to, validated once: None means every input, and a
    string is comma-separated."""
    if wrt is None:
        return list(graph.inputs)
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    wrt = list(wrt)
    for w in wrt:
        if not isinstance(w, str):
            raise Error(f"wrt must list input names (strings), got {w!r}")
    if len(set(wrt)) != len(wrt):
        raise Error(f"wrt lists a name twice: {wrt}")
    return [require_input(graph, w) for w in wrt]


def require_name(graph, name, what="variable"):
    """The node named `name`, or an Error that suggests close names."""
    if name in graph.nx and graph.nx.nodes[name].get("name") == name:
        return name
    raise Error(f"no {what} named {name!r} in the model{did_you_mean(name, graph.names())}")
