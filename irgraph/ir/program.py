"""The Program: a flat list of SSA instructions (like a jaxpr), its stats, printing and execution."""

import functools
from dataclasses import dataclass, field

import networkx as nx

from ..backends import codegen, dispatch
from ..backends import dask as dask_device
from .errors import Error, equation_text
from .expr import number
from .graph import Graph
from .ops import OPS


@dataclass(frozen=True, slots=True)  # slots: a 10^5-equation model has a million of them
class Instr:
    """`out = op(args)`; args are variable names or inlined constants; `frees` die after this line."""

    out: str
    op: str
    args: tuple
    params: tuple = ()  # the op's constant parameters, (name, value) pairs
    frees: tuple = ()
    role: str = "forward"  # or "backward"
    line: int | None = None  # the model line this instruction comes from

    def __str__(self):
        args = ", ".join(a if isinstance(a, str) else number(a) for a in self.args)
        params = "".join(f", {k}={v!r}" for k, v in self.params if v is not None)
        return f"{self.out} = {self.op}({args}{params})"


@dataclass(frozen=True)
class Kernel:
    """Instructions that run as one unit (passes/fuse.py groups them).

    kind "loop": elementwise instructions over one iteration space `space`, with the reductions (sum, mean,
    sum_to) that consume them: one pass over the data. "scalar": arithmetic on shape-() values. "blas": a
    matrix product, or a loop that would be one product of two arrays summed (a dot or matrix-vector
    product). "op": any other instruction, run as it is.
    """

    name: str  # k<number>_<the equations it computes>
    kind: str
    instrs: tuple  # Instr, in the order they run
    space: tuple = ()  # a loop's iteration shape
    reads: tuple = ()  # variables it takes from outside (inputs, earlier kernels)
    writes: tuple = ()  # variables it leaves for later kernels or returns
    shapes: tuple = ()  # (variable, shape) for every variable it reads or produces

    def equations(self):
        """The variables it computes that carry a name from the model (not temporaries)."""
        return [i.out for i in self.instrs if not _temporary(i.out)]


def _temporary(name):
    return name[:1] in "tg" and name[1:].isdigit()


@dataclass(frozen=True, eq=False)
class Program:
    instrs: tuple
    inputs: tuple  # ((input name, variable), ...)
    output: tuple  # (output name, variable)
    grads: tuple  # ((input name, variable), ...)
    tangents: tuple = ()  # forward mode: ((input name, variable of its direction), ...)
    jvp: tuple = ()  # ((output name, variable of its tangent),) in a forward-mode program
    hvp: tuple = ()  # ((input name, variable of its gradient's tangent), ...): the Hessian times the direction
    graph: object = field(repr=False, default=None)  # the compiled Graph it was scheduled from
    lines: tuple = field(repr=False, default=())  # the model text, for error messages
    log: tuple = field(repr=False, default=())  # (pass name, nodes before, nodes after) per pass
    variables: dict = field(repr=False, default_factory=dict)  # graph node -> its variable (or inlined constant)
    kernels: tuple = field(repr=False, default=())  # Kernel groups from passes/fuse.py (empty before it)
    # The fusion pass, handed down by compile_program (the core never imports passes): backends call it
    # with the input shapes of each new signature.
    fuser: object = field(repr=False, default=None)

    @property
    def wrt(self):
        return [name for name, _ in (self.grads or self.tangents)]

    @property
    def order(self):
        """2 when the program also differentiates its gradient (Hessians), else 1."""
        return 2 if self.hvp else 1

    @functools.cached_property
    def results(self):
        """The variables a run of value_and_grad returns: the output's and the gradients'."""
        return frozenset({self.output[1], *(v for _, v in self.grads)})

    @functools.cached_property
    def sweep_start(self):
        """The index of the first instruction of the tangent sweep (the end when there is none)."""
        return next((i for i, ins in enumerate(self.instrs) if ins.role == "tangent"), len(self.instrs))

    @functools.cached_property
    def source(self):
        """A standalone Python module defining value_and_grad(inputs, xp=None) -> (value, grads); at order 2
        also value_grad_hessian(inputs, xp=None) -> (value, grads, hessian) and linearize; a forward-mode
        program defines jvp(inputs, tangents, xp=None) -> (value, tangent)."""
        return codegen.generate(self)

    def source_for(self, backend="numpy", inputs=None):
        """The standalone module for `backend`: "numpy" is prog.source; "numba" is the fused module, which is
        specialised to the shapes and dtypes of `inputs` (default: those of the last run on numba)."""
        if backend == "numpy":
            return self.source
        if backend != "numba":
            raise Error(f"unknown backend {backend!r}; choose numpy or numba")
        if self.tangents:
            raise Error("the numba backend computes values and gradients only; a second-order (or forward-mode) "
                        "program has the numpy module only (backend numpy)")
        from ..backends import numba_backend

        if inputs is None:
            last = self.__dict__.get("_dispatch") and self._dispatch.last_numba
            if last is None:
                raise Error("the numba module is specialised to input shapes: pass inputs=... (on the command "
                            "line, --set or --inputs)")
            return last.source
        return numba_backend.source(self, dispatch.arguments(self, inputs))

    @functools.cached_property
    def stats(self):
        """Instruction counts. `sum_to` (undoing broadcasting; a no-op when shapes already match) is
        counted apart from the arithmetic, in `unbroadcasts`."""
        count = {"forward": 0, "backward": 0, "partials": 0, "tangent": 0}
        unbroadcasts = 0
        for ins in self.instrs:
            if ins.op == "sum_to":
                unbroadcasts += 1
            else:
                count[ins.role] += 1
        removed = {}
        for name, before, after in self.log:
            removed[name] = removed.get(name, 0) + max(before - after, 0)
        return {
            "forward_ops": count["forward"],
            "backward_ops": count["backward"],
            **({"tangent_ops": count["partials"] + count["tangent"]} if self.tangents else {}),
            "unbroadcasts": unbroadcasts,
            "instructions": len(self.instrs),
            "inputs": len(self.inputs),
            "simplify_removed": removed.get("simplify", 0),
            "cse_removed": removed.get("cse", 0),
            "dce_removed": removed.get("dce", 0),
        }

    def __str__(self):
        ins = ", ".join(v for _, v in self.inputs)
        head = f"program({ins}) -> {self.output[1]}"
        if self.grads:
            head += f", grads({', '.join(self.wrt)})"
        if self.tangents:
            head += f"; directions({', '.join(v for _, v in self.tangents)})"
        lines = [head]
        role = None
        for i in self.instrs:
            if i.role != role:
                role = i.role
                lines.append(f"  # {role}")
            free = f"    ; drop {', '.join(i.frees)}" if i.frees else ""
            lines.append(f"  {i}{free}")
        lines.append(f"  return {self.output[1]}, {{{', '.join(f'{n}: {v}' for n, v in self.grads)}}}"
                     + "".join(f", {{{', '.join(f'{n}: {v}' for n, v in t)}}}" for t in (self.jvp, self.hvp) if t))
        return "\n".join(lines)

    def __repr__(self):
        s = self.stats
        wrt = f"wrt {', '.join(self.wrt)}" if self.wrt else "no gradients"
        if self.tangents:
            return (f"<irgraph.Program {self.output[0]}, {wrt}: {s['forward_ops']} forward, {s['backward_ops']} "
                    f"backward and {s['tangent_ops']} tangent instructions>")
        return (f"<irgraph.Program {self.output[0]}, {wrt}: {s['forward_ops']} forward and "
                f"{s['backward_ops']} backward instructions>")

    # ---- checking ---------------------------------------------------------------------------------------
    def verify(self):
        """Check the Program's invariants; raises AssertionError naming the first broken one.

        SSA (each variable assigned once, never over an input); every variable read is defined before and
        not yet dropped; each drop comes at the variable's last read, once, and never drops the output or a
        gradient; the tangent sweep, which may run many times, drops only its own values; each op is known and
        gets as many operands as its row says.
        """
        kept = self.results | {v for _, v in (*self.jvp, *self.hvp)}
        live = {v for _, v in (*self.inputs, *self.tangents)}  # the directions are inputs of the tangent sweep
        assert len(live) == len(self.inputs) + len(self.tangents), f"an input variable is listed twice: {self.inputs}"
        start = self.sweep_start
        assert all(i.role == "tangent" for i in self.instrs[start:]), "the tangent sweep is not the last part"
        swept = {i.out for i in self.instrs[start:]} | {v for _, v in self.tangents}
        last = {}
        for i, ins in enumerate(self.instrs):
            for a in ins.args:
                if isinstance(a, str):
                    last[a] = i
        defined = set(live)
        for i, ins in enumerate(self.instrs):
            where = f"instruction {i + 1} ({ins})"
            assert ins.op in OPS, f"{where}: unknown op {ins.op!r}"
            assert len(ins.args) == OPS[ins.op].arity, f"{where}: {len(ins.args)} operands"
            for a in ins.args:
                if isinstance(a, str):
                    assert a in live, (f"{where} reads {a}, which is " +
                                       ("dropped before" if a in defined else "not defined before"))
            assert ins.out not in defined, f"{where} assigns {ins.out} a second time (not SSA)"
            defined.add(ins.out)
            live.add(ins.out)
            for f in ins.frees:
                assert f in live, f"{where} drops {f}, which is not live"
                assert i < start or f in swept, f"{where} drops {f}, which the sweep needs each time it runs"
                assert f not in kept, f"{where} drops {f}, which the program returns"
                assert last.get(f) == i, f"{where} drops {f} before its last use (instruction {last.get(f, -1) + 1})"
                live.discard(f)
        for v in kept:
            assert v in live, f"the program returns {v}, which is not defined (or was dropped)"
        for v, i in last.items():
            assert v in kept or v in self.instrs[i].frees or (self.tangents and v not in swept), (
                f"{v} is not dropped after its last use")  # primal values outlive the sweep, which may run again
        return self

    # ---- running ----------------------------------------------------------------------------------------
    def run(self, inputs, device="auto", check_finite=False, chunks=None):
        """Evaluate the output and its gradients on `device`: "auto" (a GPU, else Numba for large inputs,
        else NumPy), "numpy", "numba", "cupy" or "dask". Each new input signature is checked once, then
        compiled code runs directly. An order-2 program gives the Hessian too (`res.hessian`), on numpy or
        cupy.

        A NaN or Inf is a NonFiniteWarning naming the first equation that made it; with check_finite=True
        it is an irgraph.Error instead. chunks (device "dask" only): rows per chunk, or {input name: dask
        chunks}; see backends/dask.py."""
        if self.tangents:  # forward mode or second order: the generated module, else the interpreter
            return dispatch.run_higher(self, inputs, device, check_finite)
        if device == "dask":
            return dask_device.run(self, inputs, chunks, check_finite)
        call = self.__dict__.get("_dispatch")
        if call is None:
            call = dispatch.Dispatcher(self)
            object.__setattr__(self, "_dispatch", call)  # a cache, like the cached_property fields
        return call(inputs, device, check_finite)

    def where(self, instr):
        """Which equation an instruction belongs to, as people read it."""
        return equation_text(self.lines, instr.line) or "the gradient"

    def uses(self, variable):
        """The first instruction that reads `variable` (None if none does)."""
        return next((i for i in self.instrs if variable in i.args), None)

    def as_graph(self):
        """The program as a Graph (level "program"): one node per input, direction and instruction (id: its
        variable; attributes op, role, line, instr, index; a direction's tangent_of), an edge per operand read."""
        g = nx.MultiDiGraph(outputs=[self.output[1]], level="program", lines=list(self.lines),
                            grads=dict(self.grads), next_id=0)
        for name, v in self.inputs:
            g.add_node(v, op="input", name=name)
        for name, v in self.tangents:  # the directions of an order-2 or forward-mode program
            g.add_node(v, op="input", role="tangent", tangent_of=name)
        for i, ins in enumerate(self.instrs):
            g.add_node(ins.out, op=ins.op, role=ins.role, line=ins.line, instr=ins, index=i + 1)
            for pos, a in enumerate(ins.args):
                if isinstance(a, str):
                    g.add_edge(a, ins.out, pos=pos)
        return Graph(g)
