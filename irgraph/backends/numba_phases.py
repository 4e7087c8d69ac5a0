"""Row phases of a Numba module's driver: a matrix product and the loops around it, split by rows over the
threads once, instead of one thread hand-off per step.

Where a large loop reads a product's rows (h = tanh(W1 @ X + b1)), or a product reads a loop's rows (the
gradient g @ Xᵀ of the loop that makes g), each thread takes a block of rows and runs the whole sequence
on it: its rows of the product (BLAS on one thread), then the loop over the same rows (a serial Numba
kernel), while they are still in its cache. The threads meet once per phase instead of at every step,
and BLAS and the kernels never run on two thread pools at once. Reductions stay per-thread partial sums,
added up after the phase as before.

numba_codegen emits the driver as items: plain lines, Setup lines (buffers and partial sums, which depend
on shapes only and so may run before a phase), and the calls below; `render` turns them into lines.
"""

from dataclasses import dataclass, field


@dataclass
class Setup:
    """A driver line that depends on nothing a phase computes (an allocation)."""

    line: str


@dataclass
class LoopCall:
    """The call of one loop kernel over (n0, n1); args: (expression, how a row block slices it)."""

    comment: str
    name: str
    n0: int
    n1: int
    parallel: bool
    args: list  # (expression, "" | "rows" | "part" | "part_rows")
    reads: dict  # variable -> the shape it must have to be read by rows ((n0, n1) or (n0,)/(n0, 1)), or None
    makes: set  # arrays it writes whole
    reduces: set  # results of its reductions (made by `finish`, after the loop)
    finish: list = field(default_factory=list)

    def call(self, sliced):
        if not sliced:
            args = [e for e, _ in self.args]
            return f"{self.name}({self.n0}, {self.n1}, {'_nc' if self.parallel else 1}, {', '.join(args)})"
        cut = {"": "", "rows": "[_i0:_i1]", "part": "[_c:_c + 1]", "part_rows": "[_c:_c + 1, _i0:_i1]"}
        args = [e + cut[how] for e, how in self.args]
        return f"{self.name}(_i1 - _i0, {self.n1}, 1, {', '.join(args)})"


@dataclass
class MatCall:
    """out = left @ right by _matmul, 2-D (out is allocated before, by a Setup line). `left_var`: the
    variable whose rows are left's rows, or None when left is a transpose (of the variables `left_vars`)."""

    comment: str
    out: str
    left: str
    left_var: str
    left_vars: tuple
    right: str
    right_vars: tuple
    rows: int

    def call(self, sliced):
        if not sliced:
            return f"{self.out} = _matmul({self.left}, {self.right}, {self.out})"
        return f"_numpy.matmul({self.left}[_i0:_i1], {self.right}, out={self.out}[_i0:_i1])"


def _rows(item):
    return item.n0 if isinstance(item, LoopCall) else item.rows


def _can_start(item):
    return isinstance(item, MatCall) or (isinstance(item, LoopCall) and item.parallel and item.n0 > 1)


def _joins(item, rows, made, reduced, shapes):
    """Whether `item` can run by row blocks after the phase's items so far (which made `made` and will
    finish the reductions `reduced`)."""
    if not _can_start(item) or _rows(item) != rows:
        return False
    if isinstance(item, MatCall):
        if any(v in made or v in reduced for v in item.right_vars + item.left_vars):
            return item.left_var in made and not any(v in made or v in reduced for v in item.right_vars)
        return True
    for var, need in item.reads.items():
        if var in reduced:
            return False
        if var in made and (need is None or tuple(shapes[var]) not in need):
            return False
    return True


def _made(item):
    return {item.out} if isinstance(item, MatCall) else item.makes


def plan(items, shapes):
    """The items grouped: ("one", item) or ("phase", [items], rows), in order; Setup items inside a
    phase's span move before it."""
    out, i = [], 0
    while i < len(items):
        item = items[i]
        if not _can_start(item):
            out.append(("one", item))
            i += 1
            continue
        group, setups, made, reduced = [item], [], set(_made(item)), set(getattr(item, "reduces", ()))
        j = i + 1
        while j < len(items):
            nxt = items[j]
            if isinstance(nxt, Setup):
                setups.append(nxt)
            elif _joins(nxt, _rows(item), made, reduced, shapes):
                group.append(nxt)
                made |= _made(nxt)
                reduced |= getattr(nxt, "reduces", set())
            else:
                break
            j += 1
        while setups and items[j - 1] is setups[-1]:  # trailing Setup lines belong to what follows
            setups.pop()
            j -= 1
        worth = len(group) > 1 and any(isinstance(g, MatCall) for g in group)
        if not worth:
            out.append(("one", item))
            i += 1
            continue
        out += [("one", s) for s in setups]
        out.append(("phase", group, _rows(item)))
        i = j
    return out


def render(items, shapes):
    """Driver lines, and the names of the loop kernels that run serially inside a phase."""
    lines, serial, count = [], set(), 0
    for entry in plan(items, shapes):
        if entry[0] == "one":
            item = entry[1]
            if isinstance(item, str):
                lines.append(item)
            elif isinstance(item, Setup):
                lines.append(item.line)
            else:
                lines += [item.comment, item.call(False)] + list(getattr(item, "finish", ()))
            continue
        _, group, rows = entry
        count += 1
        name = f"_phase{count}"
        body = [f"_i0, _i1 = _c * {rows} // _nc, (_c + 1) * {rows} // _nc"]
        for item in group:
            body += [item.comment, item.call(True)]
            if isinstance(item, LoopCall):
                serial.add(item.name)
        steps = ", ".join(g.name if isinstance(g, LoopCall) else g.out for g in group)
        lines.append(f"# {steps}: by blocks of the {rows} rows, one block per thread")
        lines.append(f"def {name}(_c, _nc):")
        lines += ["    " + s for s in body]
        lines.append(f"_rows({name}, _nc)")
        for item in group:
            lines += list(getattr(item, "finish", ()))
    return lines, serial
