"""fuse: Program → Program with kernels, for the input shapes of one signature (a pure pass).

A kernel is what a backend runs as one unit. Elementwise instructions over one broadcast iteration space
form a "loop" kernel together with the reductions that consume them (sum, mean, and sum_to undoing a
broadcast), so one pass over the data computes them all, forward and backward alike: an instruction joins
the earliest kernel of its space that comes after everything it reads. Afterwards an elementwise value
that only a later kernel uses is moved into that kernel when this does not make more arrays leave the
loop (the tanh derivative 1 - h^2 is computed where it is consumed, from h, instead of being stored).
Arithmetic on shape-() values forms "scalar" kernels; matrix products are "blas" kernels, except those
with an axis of size 1 (outer and matrix-vector products, backends/numba_products.py), which are loop work;
the rest "op". A loop that would do nothing but one contraction (the sum of a product of two arrays: a dot
product, or a matrix-vector product written as sum_to(g * x, w)) is a "blas" kernel too: with no other
work to share the pass over the data, BLAS does it best.

Without shapes, every input is taken to have one common shape: a picture of what fuses, not a plan.
"""

import dataclasses
import os

from irgraph.backends.numba_products import PRODUCTS, loop_views
from irgraph.ir.ops import OPS
from irgraph.ir.program import Kernel, Program
from irgraph.ir.shapes import SHAPE_ONLY, infer_all

SYMBOLIC = (3, 3, 3)  # the common shape assumed when no shapes are given


def fuse(program: Program, shapes=None) -> Program:
    """Group the program's instructions into kernels; shapes: {input variable: shape}."""
    if shapes is None:
        shapes = {v: SYMBOLIC for _, v in program.inputs}
    known = infer_all(program, shapes)
    groups = _group(program, known)
    _sink(groups)
    _contractions(groups, program, known)
    fused = dataclasses.replace(program, kernels=_kernels(program, groups, known))
    if os.environ.get("IRGRAPH_VERIFY") == "1":  # passes.verifying(), which this module cannot import
        verify(fused, known)
    return fused


def verify(program, known):
    """Check the kernels of a fused program; raises AssertionError naming the first kernel at fault.

    Every instruction runs in exactly one kernel, in an order in which each kernel reads only inputs and
    values that earlier kernels write; a value another kernel or the result needs is among its writes;
    nothing is assigned twice (so no write clobbers a value still live); a loop kernel holds only work of
    its own iteration space and never reads a reduction it has not finished.
    """
    ran = [ins for k in program.kernels for ins in k.instrs]
    assert sorted(map(id, ran)) == sorted(map(id, program.instrs)), "the kernels do not run each instruction once"
    available = {v for _, v in program.inputs}
    needed = program.results
    for n, k in enumerate(program.kernels):
        later = {a for j in program.kernels[n + 1:] for ins in j.instrs for a in data_args(ins)}
        made, reductions = set(), set()
        for ins in k.instrs:
            for a in data_args(ins):
                assert a in made or a in available, f"kernel {k.name} reads {a}, which no earlier kernel writes"
                assert a not in reductions, f"kernel {k.name} reads the reduction {a} inside the loop that sums it"
            assert ins.out not in available and ins.out not in made, f"kernel {k.name} assigns {ins.out} again"
            made.add(ins.out)
            if k.kind == "loop":
                kind, space, what = classify(ins, known)
                assert (kind, space) == ("loop", k.space), f"kernel {k.name} loops over {k.space}, not {ins}'s {space}"
                if what == "red":
                    reductions.add(ins.out)
        for v in made & (later | needed):
            assert v in k.writes, f"kernel {k.name} does not write {v}, which is used after it"
        available |= set(k.writes)
    for v in needed:
        assert v in available, f"no kernel writes {v}, which the program returns"


def data_args(ins):
    """The variables whose values an instruction reads."""
    skip = SHAPE_ONLY.get(ins.op, ())
    return [a for i, a in enumerate(ins.args) if isinstance(a, str) and i not in skip]


def classify(ins, known):
    """(kernel kind, iteration space, "ew" | "red") for one instruction under known shapes."""
    op, out = ins.op, known[ins.out]
    if op in PRODUCTS:
        views = loop_views(op, [known[a] for a in ins.args])
        if views is None:
            return "blas", None, None
        space, _, result = views
        return "loop", space, ("ew" if result == space else "red")
    if op == "count":
        return "scalar", (), "ew"
    if op in ("sum", "mean") or (op == "sum_to" and _reduces(known[ins.args[0]], out)):
        space = known[ins.args[0]]
        return ("loop" if space else "scalar"), space, ("red" if space else "ew")
    if OPS[op].kind == "elementwise" or op in ("id", "sum_to", "unsum", "full_like", "zeros_like"):
        return ("loop" if out else "scalar"), out, "ew"
    return "op", None, None


def _reduces(have, shape):
    """Whether sum_to(x of shape `have`, like of `shape`) sums over some axes (rather than copying or
    broadcasting x up)."""
    if have == shape:
        return False
    lead = len(have) - len(shape)
    return lead >= 0 and all(m == n or m == 1 for m, n in zip(shape, have[lead:]))


class _Group:
    def __init__(self, kind, space, index):
        self.kind, self.space, self.index = kind, space, index
        self.instrs, self.made = [], {}  # made: variable -> "ew" | "red"


def _group(program, known):
    groups, where, by_space = [], {}, {}
    for ins in program.instrs:
        kind, space, made = classify(ins, known)
        args = data_args(ins)
        pos = max((where[a].index for a in args if a in where), default=-1)
        target = None
        if kind in ("loop", "scalar"):
            for g in by_space.get((kind, space), ()):
                if g.index > pos or (g.index == pos and all(g.made.get(a, "ew") == "ew" for a in args)):
                    target = g
                    break
        if target is None:
            target = _Group(kind, space, pos + 1)
            for g in groups[pos + 1:]:
                g.index += 1
            groups.insert(pos + 1, target)
            if kind in ("loop", "scalar"):
                same = by_space.setdefault((kind, space), [])
                same.append(target)
                same.sort(key=lambda g: g.index)
        target.instrs.append(ins)
        target.made[ins.out] = made
        where[ins.out] = target
    return groups


def _users(groups):
    """{variable: the instructions that read it}."""
    users = {}
    for g in groups:
        for ins in g.instrs:
            for a in data_args(ins):
                users.setdefault(a, []).append(ins)
    return users


def _sink(groups):
    """Move elementwise values into the later loop kernel that consumes them, where that stores less."""
    where = {ins.out: g for g in groups for ins in g.instrs}
    users = _users(groups)
    owner = {id(ins): g for g in groups for ins in g.instrs}
    for g in reversed(groups):
        if g.kind != "loop":
            continue
        for ins in reversed(list(g.instrs)):
            if g.made[ins.out] != "ew" or ins.out not in users:
                continue
            uses = [owner[id(u)] for u in users[ins.out]]
            first = min(uses, key=lambda k: k.index)
            if first is g or first.kind != "loop" or first.space != g.space:
                continue
            own = [a for a in data_args(ins) if where.get(a) is g]
            newly_stored = sum(1 for a in own if all(owner[id(u)] is g for u in users[a] if u is not ins))
            if newly_stored > 1:
                continue
            g.instrs.remove(ins)
            del g.made[ins.out]
            at = min(i for i, u in enumerate(first.instrs) if ins.out in data_args(u))
            first.instrs.insert(at, ins)
            first.made[ins.out] = "ew"
            where[ins.out] = owner[id(ins)] = first


def _contractions(groups, program, known):
    """Mark as "blas" the loops that are one product of two arrays and one reduction of it, nothing else."""
    users = _users(groups)
    for g in groups:
        if g.kind != "loop" or len(g.instrs) != 2:
            continue
        mul, red = g.instrs
        if (mul.op != "mul" or red.op not in ("sum", "mean", "sum_to") or g.made[red.out] != "red"
                or data_args(red) != [mul.out] or len(users[mul.out]) != 1 or mul.out in program.results):
            continue
        if all(isinstance(a, str) and known[a] for a in mul.args):
            g.kind = "blas"


def _kernels(program, groups, known):
    keep = program.results
    used_in = {}
    for g in groups:
        for ins in g.instrs:
            for a in data_args(ins):
                used_in.setdefault(a, set()).add(id(g))
    kernels = []
    for n, g in enumerate(g for g in groups if g.instrs):
        made = {ins.out for ins in g.instrs}
        reads = list(dict.fromkeys(a for ins in g.instrs for a in data_args(ins) if a not in made))
        writes = [ins.out for ins in g.instrs if ins.out in keep or used_in.get(ins.out, set()) - {id(g)}]
        every = {*reads, *made, *(a for ins in g.instrs for a in ins.args if isinstance(a, str))}
        instrs = tuple(g.instrs)
        named = [i.out for i in instrs if not (i.out[:1] in "tg" and i.out[1:].isdigit())]
        name = f"k{n + 1}_" + "_".join(named[:3] or [g.kind])
        kernels.append(Kernel(name=name, kind=g.kind, instrs=instrs, space=g.space or (), reads=tuple(reads),
                              writes=tuple(writes), shapes=tuple((v, known[v]) for v in sorted(every))))
    return tuple(kernels)
