"""`Graph`: the IR. Plain tables while the compiler works on it; a `networkx.MultiDiGraph` (`g.nx`) on request.

Node attributes (one dict per node):
  op      an ops.OPS name, "input", "const", or at the equation level "input" / "equation"
  name    the user's name, where the user named the value (inputs and equations)
  value   a const's number (a float)
  params  an op's constant parameters as (name, value) pairs in its row's order: the axis of
          sum, the bounds of clip (absent when the op has none)
  line    the model line the node comes from (1-based)
  role    "forward", "backward" (nodes the adjoint pass made) or "tangent" (nodes the forward pass made)
  tangent_of on the input node of a direction (passes.forward): the name of the input it moves
  adj_of  on a backward node: the node whose adjoint it is (names the gradient variable d_<name>)
  grad_of on the final gradient node of an input: that input's name
  expr    at the equation level: the equation's right-hand side as an irgraph.ir.expr.Expr (None for inputs)
Edge attributes (one edge per operand; `x * x` has two, keyed by position; at the equation level one edge
per (u, v) pair, key 0):
  pos     the operand position
  partial after passes.attach_partials: the local derivative ∂v/∂u as an Expr (a pullback in `g` across
          tensor ops)
Graph metadata: `Meta` below (`g.meta`; `g.nx.graph` holds the same keys).

Named nodes use their name as node id; unnamed ones are "%N". Pure passes never mutate their argument.

Passes read and build the tables (`parts`, `partials`, `from_args`): building a networkx graph costs
seconds at 10^5 equations, so it is built only when someone asks for `g.nx`. From then on that networkx
graph is the graph (it may be edited), and every reading method reads it; the tables are dropped, so
nothing can go stale.
"""

import contextlib
import dataclasses
import gc

import networkx as nx

from .errors import Error, did_you_mean
from .expr import Expr, postorder, to_text, var
from .ops import OPS


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a pass builds many small acyclic dicts.

    On a 100,000-equation model the collector's repeated scans cost more than the pass itself. On the way
    out, what was made meanwhile goes straight to the oldest generation (freeze, then unfreeze: a list
    splice), so the first collection afterwards does not scan millions of new objects as young ones; the
    next full collection sees them as usual. Not when someone else froze objects: unfreeze would undo that.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


@dataclasses.dataclass(frozen=True)
class Meta:
    """What a Graph knows besides its nodes and edges."""

    outputs: tuple = ()  # node ids of the outputs (a compiled graph has one)
    level: str = "op"  # "op" or "equation" (viz builds "program" and "grouped" graphs of its own)
    lines: tuple = ()  # the model text, one string per line, for error messages
    next_id: int = 0  # the number of the next fresh "%N" node id
    grads: dict | None = None  # {input name: node id of its gradient} once passes.adjoint ran
    log: tuple = ()  # ((pass name, nodes before, nodes after), ...) once passes.run_pipeline ran
    # What the pictures read from the compiled program (viz/values.py), once a pass rebuilt the graph:
    values: dict | None = None  # {node id as parsed: the node that now computes its value}
    # after adjoint, {node id as parsed: the node holding ∂output/∂it (possibly still broadcast larger)},
    # only for parsed nodes no earlier pass merged with another (those have no adjoint of their own)
    adjoints: dict | None = None
    # Once passes.forward ran: {input name: the input node of its direction}, and the tangent of the output
    # (jvp: a node id) or of each gradient (hvp: {input name: node id}, the Hessian times the direction).
    tangent_inputs: dict | None = None
    jvp: str | None = None
    hvp: dict | None = None

    def __post_init__(self):
        for f in ("outputs", "lines", "log"):  # lists given (the networkx attributes are lists): kept as tuples
            object.__setattr__(self, f, tuple(getattr(self, f)))

    @classmethod
    def of(cls, attrs):
        """The Meta of a networkx graph's attribute dict (unknown keys are left out)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in attrs.items() if k in known})

    def as_dict(self):
        """The networkx graph attributes: every field that is set (no "grads" key before the adjoint)."""
        d = {"outputs": list(self.outputs), "level": self.level, "lines": self.lines, "next_id": self.next_id}
        if self.grads is not None:
            d["grads"] = dict(self.grads)
        if self.log:
            d["log"] = list(self.log)
        for key in ("values", "adjoints"):
            if getattr(self, key) is not None:
                d[key] = dict(getattr(self, key))
        for key in ("tangent_inputs", "jvp", "hvp"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d


class Graph:
    def __init__(self, g):
        """Wrap a networkx graph (it is the graph from now on)."""
        self._nx = g
        self._tables = None  # (nodes, args, partials or None, Meta) until g.nx is asked for
        self._ordered = False  # True: the tables list every node after its operands (see order())

    @classmethod
    def from_args(cls, nodes, args, partials=None, *, ordered=False, **meta):
        """A Graph from {id: attrs}, {id: operand ids in position order} and optionally {id: partial of
        each operand}; `meta` are Meta's fields. ordered=True promises that `nodes` lists every node after
        its operands (passes build their tables that way), so order() needs no sort.

        The dicts are taken over, not copied: the caller must not change them afterwards, and the attribute
        dicts may be shared with other graphs (passes copy one before changing it).
        """
        graph = cls.__new__(cls)
        graph._nx = None
        graph._tables = (nodes, args, partials, Meta(**meta))
        graph._ordered = ordered
        return graph

    def with_meta(self, **changes):
        """The same nodes and edges with some Meta fields replaced (nothing is copied)."""
        nodes, args = self.parts()
        return Graph.from_args(nodes, args, self.partials(), ordered=self.ordered,
                               **dict(vars(self.meta), **changes))

    @property
    def ordered(self):
        """True when the node tables list every node after its operands (a pass built them so)."""
        return self._ordered and self._tables is not None

    # ---- the networkx view ----------------------------------------------------------------------------------
    @property
    def nx(self):
        """The networkx.MultiDiGraph (built on first use, with attribute dicts of its own)."""
        if self._nx is None:
            nodes, args, partials, meta = self._tables
            partials = partials or {}
            keyed = meta.level == "op"  # op level: keyed by position; equation level: one edge per (u, v), key 0
            with gc_paused():
                edges = ((a, v, i if keyed else 0, {"pos": i, "partial": partials[v][i]} if v in partials
                          else {"pos": i}) for v, ops in args.items() for i, a in enumerate(ops))
                self._nx = _build({n: dict(d) for n, d in nodes.items()}, edges, meta.as_dict())
            self._tables = None
        return self._nx

    @property
    def nx_built(self):
        """True once g.nx exists (from then on the networkx graph is the graph)."""
        return self._nx is not None

    # ---- reading ----------------------------------------------------------------------------------------
    @property
    def meta(self):
        return self._tables[3] if self._tables is not None else Meta.of(self._nx.graph)

    @property
    def inputs(self):
        """Names of the inputs (names used but never defined), in order of first use."""
        return [n for n, d in self._nodes().items() if d["op"] == "input" and "tangent_of" not in d]

    @property
    def outputs(self):
        return list(self.meta.outputs)

    @property
    def grads(self):
        return dict(self.meta.grads or {})

    @property
    def level(self):
        return self.meta.level

    def number_of_nodes(self):
        return len(self._nodes())

    def __contains__(self, node):
        return node in self._nodes()

    def attrs(self, node):
        """The node's attribute dict (read it, do not change it), or None when there is no such node."""
        return self._nodes().get(node)

    def _nodes(self):
        return self._tables[0] if self._tables is not None else self._nx._node

    def operands(self, node):
        """The node's operands in position order."""
        if self._tables is not None:
            return list(self._tables[1].get(node, ()))
        edges = sorted(self._nx.in_edges(node, data="pos"), key=lambda e: e[2])
        return [u for u, _, _ in edges]

    def users(self):
        """{id: the nodes that use it, each once, in the order the edges were added}. Read-only."""
        if self._tables is None:
            return {n: list(s) for n, s in self._nx._succ.items()}
        return self._adjacency()[0]

    def _adjacency(self):
        """(users, {id: how many distinct operands}) of the tables, computed once: they never change."""
        found = self.__dict__.get("_adjacency_of_tables")
        if found is None or found[0] is not self._tables:
            users = {n: [] for n in self._tables[0]}
            distinct = dict.fromkeys(self._tables[0], 0)
            for v, ops in self._tables[1].items():
                k = 0
                for u in ops:
                    us = users[u]
                    if not us or us[-1] != v:  # x*x: one user, once
                        us.append(v)
                        k += 1
                distinct[v] = k
            found = self._adjacency_of_tables = (self._tables, users, distinct)
        return found[1:]

    def topo(self, among=None):
        """Node ids in a topological order: Kahn's algorithm, iterative, stable in insertion order.

        among: only these nodes, a set that holds every operand of its members (the ancestors of some
        nodes), in the order the sort of the whole graph gives them, at a cost in proportion to their number.
        """
        if among is not None:
            return self._topo_among(among)
        if self._tables is None:
            waiting = {n: len(p) for n, p in self._nx._pred.items()}
            successors = self._nx._succ.__getitem__
        else:
            users, distinct = self._adjacency()
            waiting = dict(distinct)
            successors = users.__getitem__
        order = kahn(list(waiting), waiting, successors)
        if len(order) != len(waiting):
            raise Error("the graph has a cycle")
        return order

    def order(self):
        """Node ids, each after its operands: the tables' own order when they are `ordered` (free), else
        topo(). Passes walk this; the Program's instruction order comes from topo()."""
        return list(self._tables[0]) if self.ordered else self.topo()

    def _topo_among(self, among):
        if self._tables is None:
            return [n for n in self.topo() if n in among]
        waiting = {n: 0 for n in self._tables[0] if n in among}
        users = {n: [] for n in waiting}
        for v, ops in self._tables[1].items():
            if v in among:  # then so are its operands
                k = 0
                for u in ops:
                    us = users[u]
                    if not us or us[-1] != v:  # as in _adjacency: a user once, edges in the same order
                        us.append(v)
                        k += 1
                waiting[v] = k
        order = kahn(list(waiting), waiting, users.__getitem__)
        if len(order) != len(waiting):
            raise Error("the graph has a cycle")
        return order

    @property
    def preds(self):
        """{node: {operand: {key: edge attrs}}}: networkx's own adjacency dicts, read-only; 3x faster than
        its views on big graphs, and the one place outside this file that needs them goes through here.
        Builds g.nx (passes read `parts` and `users` instead)."""
        return self.nx._pred

    @property
    def succs(self):
        """{node: {user: {key: edge attrs}}}, read-only, like `preds`."""
        return self.nx._succ

    def ancestors(self, nodes):
        """The given nodes and every node they depend on (an iterative walk)."""
        return _walk(nodes, self._tables[1] if self._tables is not None else self._nx._pred)

    def descendants(self, nodes):
        """The given nodes and every node that depends on them (an iterative walk)."""
        return _walk(nodes, self.users() if self._tables is not None else self._nx._succ)

    def parts(self):
        """({id: attrs}, {id: operand ids in position order}): the graph as plain dicts, for passes.

        Fresh dicts each call; the attribute dicts inside are the graph's own: read them, copy to change.
        """
        if self._tables is not None:
            return dict(self._tables[0]), dict(self._tables[1])
        g = self._nx
        args = {}
        for v, preds in g._pred.items():
            if preds:
                ops = [(d["pos"], u) for u, keyed in preds.items() for d in keyed.values()]
                ops.sort()
                args[v] = tuple(u for _, u in ops)
        return dict(g._node), args

    def partials(self):
        """{id: the partial on each operand edge, in position order} after attach_partials, else None."""
        if self._tables is not None:
            return self._tables[2]
        found = {}
        for v, preds in self._nx._pred.items():
            ps = sorted((d["pos"], d["partial"]) for keyed in preds.values() for d in keyed.values()
                        if "partial" in d)
            if ps:
                found[v] = tuple(p for _, p in ps)
        return found or None

    def names(self):
        """Named nodes: inputs and named equations."""
        return [n for n, d in self._nodes().items() if d.get("name")]

    # ---- building -----------------------------------------------------------------------------------------
    @classmethod
    def from_parts(cls, nodes, edges, **graph_attrs):
        """A Graph over a networkx graph built from {id: attrs} and (u, v, key, attrs) edges, in bulk."""
        return cls(_build(nodes, edges, graph_attrs))

    def copy(self):
        """A deep enough copy: new attribute dicts, so a pass can annotate it freely."""
        nodes, args = self.parts()
        return Graph.from_args({n: dict(d) for n, d in nodes.items()}, args, self.partials(), ordered=self.ordered,
                               **vars(self.meta))

    # ---- the two levels -----------------------------------------------------------------------------------
    def expressions(self, order=None):
        """Each node as an Expr over named variables: named nodes are leaves, the rest inline; walked in
        `order` (default: topo())."""
        nodes, args = self.parts()
        exprs, rhs = {}, {}
        for n in self.topo() if order is None else order:
            d = nodes[n]
            if d["op"] == "const":
                e = Expr("const", (), float(d["value"]))
            elif d["op"] == "input":
                e = None
            else:
                e = Expr(d["op"], tuple(exprs[a] for a in args.get(n, ())), d.get("params", ()))
            if d.get("name"):
                rhs[n] = e
                exprs[n] = var(d["name"])
            else:
                exprs[n] = e
        return exprs, rhs

    def equations(self):
        """The equation-level Graph: one node per input or named equation, holding its right-hand side."""
        _, rhs = self.expressions()
        nodes, args = {}, {}
        for n, e in rhs.items():
            d = self.attrs(n)
            nodes[n] = {"op": "input" if e is None else "equation", "name": d["name"], "expr": e,
                        "line": d.get("line")}
            if e is not None:
                used = {s.attr[0]: None for s in _leaves(e)}  # an ordered set
                if used:
                    args[n] = tuple(used)
        meta = self.meta
        return Graph.from_args(nodes, args, outputs=list(meta.outputs), level="equation", lines=meta.lines,
                               grads=None if meta.grads is None else dict(meta.grads))

    # ---- printing -----------------------------------------------------------------------------------------
    def pretty(self):
        """The equations, one per line, in an order where each name is defined before it is used."""
        if self.level == "equation":
            rhs = {n: d["expr"] for n, d in self._nodes().items()}
        else:
            _, rhs = self.expressions()
        return "\n".join(f"{n} = {to_text(rhs[n])}" for n in self.topo() if rhs.get(n) is not None)

    __str__ = pretty

    def __repr__(self):
        return (f"<irgraph.Graph {self.level} level: {self.number_of_nodes()} nodes, "
                f"inputs {self.inputs}, outputs {self.outputs}>")

    # ---- checking -----------------------------------------------------------------------------------------
    def verify(self):
        """Check the IR's invariants; raises AssertionError naming the first broken one."""
        nodes, args = self.parts()
        for n, ops in args.items():
            assert n in nodes, f"{n} has operands but is not a node"
            for a in ops:
                assert a in nodes, f"node {n} uses {a}, which is not a node"
        try:
            self.topo()
        except Error:
            raise AssertionError("graph has a cycle") from None
        if self.ordered:
            seen = set()
            for n in nodes:
                for a in args.get(n, ()):
                    assert a in seen, f"the graph says it is ordered, but {n} comes before its operand {a}"
                seen.add(n)
        level = self.level
        for n, d in nodes.items():
            op = d.get("op")
            assert op is not None, f"node {n} has no op"
            if level == "equation":
                assert op in ("input", "equation"), f"node {n}: {op}"
                continue
            if op in ("input", "const"):
                assert not args.get(n), f"leaf {n} has operands"
                assert op != "const" or isinstance(d.get("value"), float), f"const {n} has no float value"
                continue
            assert op in OPS, f"node {n}: unknown op {op}"
            assert len(args.get(n, ())) == OPS[op].arity, f"node {n} ({op}) has {len(args.get(n, ()))} operands"
        if self._nx is not None:
            for v, preds in self._nx._pred.items():
                positions = sorted(d["pos"] for keyed in preds.values() for d in keyed.values())
                assert positions == list(range(len(positions))), f"node {v} has operand positions {positions}"
        meta = self.meta
        for o in meta.outputs:
            assert o in nodes, f"output {o} is not a node"
        for key in ("grads", "tangent_inputs", "hvp"):
            for name, node in (getattr(meta, key) or {}).items():
                assert node in nodes, f"{key} of {name} is not a node"
        assert meta.jvp is None or meta.jvp in nodes, f"jvp {meta.jvp} is not a node"
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
        for m in reversed(successors(n)):  # a list or a dict: both run backwards without a copy
            if m in waiting:
                waiting[m] -= 1
                if waiting[m] == 0:
                    stack.append(m)
    return order


def _build(nodes, edges, graph_attrs):
    """A networkx.MultiDiGraph from {id: attrs} and (u, v, key, attrs) edges, filled in bulk.

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
    return g


def _walk(starts, step):
    seen, todo = set(starts), list(starts)
    while todo:
        for m in step.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def _leaves(e):
    return [s for s in postorder(e) if s.op == "var"]


def require_input(graph, name):
    """`name` if it is an input of the model, else an Error that says what it is or suggests a close name."""
    d = graph.attrs(name)
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
    if not isinstance(wrt, (str, list, tuple)):
        raise Error(f"wrt must be a list of input names (or one comma-separated string), not {wrt!r}")
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
    """The node named `name`, or an Error that suggests close names. An "equation" is never an input."""
    if not isinstance(name, str):
        raise Error(f"the {what} must be given by its name (a string), not {name!r}")
    d = graph.attrs(name)
    if what == "equation" and d is not None and d.get("op") == "input":
        raise Error(f"{name!r} is an input of the model, not an equation: the output must be computed by one")
    if d is not None and d.get("name") == name:
        return name
    raise Error(f"no {what} named {name!r} in the model{did_you_mean(name, graph.names())}")
