"""schedule: Graph → Program, a flat list of SSA instructions, forward part first.

Each value gets a readable, safe Python name (the user's name where it is one, `t3` for temporaries,
`d_yhat` for the adjoint of `yhat`), constants are inlined, and every value is dropped after its last use.
"""

import builtins
import keyword

from irgraph.backends.runtime import HELPERS
from irgraph.ir.graph import Graph, gc_paused, kahn
from irgraph.ir.program import Instr, Program

# Names the generated module itself uses; user variables that collide get a trailing underscore. Builtins
# too: the module calls type(), float and ValueError, which a user's `type = ...` would shadow.
RESERVED = ({"xp", "inputs", "numpy", "value_and_grad", "value", "grads", "linearize", "value_grad_hessian",
             "hvp", "direction", "hessian", "jvp", "tangents"} | {f.__name__ for f in HELPERS}
            | set(dir(builtins)))


def schedule(graph: Graph) -> Program:
    """Order, name and free the values of a compiled graph."""
    with gc_paused():
        return _schedule(graph)


def _schedule(graph):
    nodes, args = graph.parts()
    meta = graph.meta
    out = meta.outputs[0]
    grads = meta.grads or {}
    tangent_inputs, hvp = meta.tangent_inputs or {}, meta.hvp or {}
    jvp = {nodes[out].get("name") or "output": meta.jvp} if meta.jvp is not None else {}
    forward = graph.ancestors([out])
    # A mean's element count reads only its operand's shape: it is taken in the forward part, as soon as
    # the operand exists, so the (often large) operand is not kept alive into the backward part to be counted.
    forward |= {n for n, d in nodes.items() if d["op"] == "count" and args[n][0] in forward}
    # The forward part in the order of a Kahn sort (as the model is written, roughly), the backward part
    # depth-first from there.
    # The tangent sweep (what the directions flow into) comes last, depth-first too.
    swept = graph.descendants(tangent_inputs.values()) - forward if tangent_inputs else set()
    ahead = graph.topo(among=forward)
    rest = [n for n in graph.order() if n not in forward]
    behind = _depth_first([n for n in rest if n not in swept], args)
    tangent = _depth_first([n for n in rest if n in swept], args) if swept else []
    order = ahead + behind + tangent

    names = _Names()
    var = {}
    inputs = []
    for n in order:
        d = nodes[n]
        if d["op"] == "input" and "tangent_of" not in d:
            var[n] = names.claim(d["name"])
            inputs.append((d["name"], var[n]))
        elif d["op"] == "const":
            var[n] = d["value"]
    for name, n in tangent_inputs.items():  # the direction: dot_<input>
        var[n] = names.claim("dot_" + name)
    for name, n in grads.items():  # gradients are called d_<input>
        if n not in var:
            var[n] = names.claim("d_" + name)
    for prefix, roots in (("dot_d_", hvp), ("dot_", jvp)):  # their tangents: dot_d_<input>, dot_<output>
        for name, n in roots.items():
            if n not in var:
                var[n] = names.claim(prefix + name)
    instrs, sweep = [], []  # [out, op, args, params, role, line] rows, made Instrs once their frees are known
    claim, temp = names.claim, names.temp
    # Operands come first, so their variables exist when an instruction reads them. The three parts are
    # walked one by one: a node's part says its role and how a temporary is called, with no test per node.
    for part, rows, kind in ((ahead, instrs, "forward"), (behind, instrs, "backward"), (tangent, sweep, "tangent")):
        prefix = "t" if kind == "forward" else "g"
        for n in part:
            d = nodes[n]
            op = d["op"]
            if op == "input" or op == "const":
                continue
            v = var.get(n)
            if v is None:
                if d.get("name"):
                    v = claim(d["name"])
                elif kind == "tangent":  # dot_<name> for the tangent of a named value, else h<N>
                    of = _name_of(nodes, d.get("tan_of"))
                    v = claim("dot_" + of) if of else temp("h")
                else:
                    whose = nodes.get(d.get("adj_of"))  # CSE/DCE may have dropped it
                    if whose is not None and whose.get("name") and whose["op"] != "input":  # an input's d_ name
                        v = claim("d_" + whose["name"])  # is its final gradient's
                    else:
                        v = temp(prefix)
                var[n] = v
            role = kind if kind != "backward" else (
                "backward" if d.get("role", "backward") == "backward" else "partials")  # the partials the sweep reads
            a = args[n]
            n_args = len(a)  # most have one or two: no list
            a = (var[a[0]], var[a[1]]) if n_args == 2 else (var[a[0]],) if n_args == 1 else tuple([var[x] for x in a])
            rows.append((v, op, a, d.get("params", ()), role, d.get("line")))
    # A constant output or gradient still needs a variable of its own; the output's comes first, so the
    # value exists before the backward part (and the scalar check) reads it.
    if not isinstance(var[out], str):
        var[out] = names.claim(nodes[out]["name"]) if nodes[out].get("name") else names.temp("t")
        instrs.insert(0, (var[out], "id", (nodes[out]["value"],), (), "forward", nodes[out].get("line")))
    grad_vars = []
    for name, n in grads.items():
        v = var[n]
        if not isinstance(v, str):  # e.g. d(3*w)/dw = 3: an array of w's shape and dtype
            v = names.temp("g")
            instrs.append((v, "full_like", (var[name], nodes[n]["value"]), (), "backward", None))
        grad_vars.append((name, v))
    instrs += sweep  # last: it may run many times (once per Hessian column) from one set of primal values,
    start = len(instrs) - len(sweep)  # so the primal part keeps what it reads, and it drops only its own values
    keep = {var[out]} | {v for _, v in grad_vars} | {var[n] for n in [*hvp.values(), *jvp.values()]}
    keep |= {var[name] for name in tangent_inputs}  # the inputs a direction is checked against
    reads = {a for i in sweep for a in i[2]}
    frees = _frees(instrs[:start], keep | reads)
    own = {i[0] for i in sweep} | {var[n] for n in tangent_inputs.values()}
    frees += _frees(sweep, keep | (reads - own))
    return Program(
        instrs=tuple([Instr(out, op, a, params, f, role, line)
                      for (out, op, a, params, role, line), f in zip(instrs, frees)]),
        inputs=tuple(inputs),
        output=(nodes[out].get("name") or var[out], var[out]),
        grads=tuple(grad_vars),
        tangents=tuple((name, var[n]) for name, n in tangent_inputs.items()),
        jvp=tuple((name, var[n]) for name, n in jvp.items()),
        hvp=tuple((name, var[n]) for name, n in hvp.items()),
        graph=graph,
        lines=tuple(meta.lines),
        log=tuple(meta.log),
        variables=var,
    )


def _name_of(nodes, n):
    """How a node reads in a variable name: its own name, or d_<name> for the adjoint of a named value."""
    d = nodes.get(n) if n is not None else None
    if d is None:
        return None
    if d.get("name"):
        return d["name"]
    whose = nodes.get(d.get("adj_of"), {})
    return "d_" + whose["name"] if whose.get("name") and whose["op"] != "input" else None


def _depth_first(nodes, args):
    """Order the backward nodes so each value's consumers follow it closely (Kahn's with a stack).

    A gradient's multiply is then followed at once by its sum, and large temporaries die young.
    """
    users = {n: [] for n in nodes}  # among `nodes` only
    waiting = dict.fromkeys(nodes, 0)
    for v in nodes:
        k = 0
        for u in args.get(v, ()):
            us = users.get(u)
            if us is not None and (not us or us[-1] != v):  # x*x: one user, once
                us.append(v)
                k += 1
        if k:
            waiting[v] = k
    return kahn(nodes, waiting, users.__getitem__, depth_first=True)


def _frees(instrs, keep):
    """The variables to drop after each instruction (a tuple per instruction): each at its last read,
    unless kept."""
    last = {}
    for i, ins in enumerate(instrs):
        for a in ins[2]:
            last[a] = i  # inlined constants too: dropped below, which is cheaper than a test per operand
    frees = [()] * len(instrs)
    for v, i in last.items():
        if v not in keep and isinstance(v, str):
            frees[i] += (v,)
    return frees


class _Names:
    def __init__(self):
        self.taken = set()
        self.count = 0

    def claim(self, name):
        base = name if name.isidentifier() and not keyword.iskeyword(name) else "v"
        if base in RESERVED or base.startswith("_"):
            base += "_"
        candidate, k = base, 1
        while candidate in self.taken:
            k += 1
            candidate = f"{base}_{k}"
        self.taken.add(candidate)
        return candidate

    def temp(self, prefix):
        while True:
            self.count += 1
            name = f"{prefix}{self.count}"
            if name not in self.taken:
                self.taken.add(name)
                return name
