"""The `irgraph` command: compile, run, render and explain models.

Every error a user can cause prints as `MODEL:LINE:COL: error: ...` (or `MODEL: error: ...`) and exits 1;
usage errors exit 2. No traceback reaches the terminal.
"""

import argparse
import contextlib
import json
import os
import sys
import tempfile
import warnings

import numpy

import viz
from viz.explain import explain
from viz.explain_second import explain_second

from . import __version__, cli_help
from . import data as datalib
from .ir.errors import Error, NonFiniteWarning, ParseError
from .ir.files import refuse_overwrite, write_file
from .ir.graph import parse_wrt

EXIT_ERROR, EXIT_USAGE, EXIT_INTERNAL = 1, 2, 70


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    args.model_label = "<stdin>" if args.model == "-" else args.model
    try:
        with _warnings_printed(args):
            return args.handler(args) or 0
    except ParseError as e:
        print(f"{args.model_label}:{e}", file=sys.stderr)
    except Error as e:
        print(f"{args.model_label}: error: {e}", file=sys.stderr)
    except OSError as e:
        print(f"irgraph: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - a bug of ours: still no traceback, but say so
        print(f"irgraph: internal error ({type(e).__name__}: {e}); please report it with the model",
              file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_ERROR


@contextlib.contextmanager
def _warnings_printed(args):
    """irgraph's own warnings (a NaN appearing while running) print as `MODEL: warning: ...`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NonFiniteWarning)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, NonFiniteWarning):
                    print(f"{args.model_label}: warning: {w.message}", file=sys.stderr)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _parser():
    p = argparse.ArgumentParser(prog="irgraph", description="Compile model equations to gradient programs.",
                                epilog=cli_help.language(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"irgraph {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{compile,run,render,explain,fit}")

    def command(name, handler, help):
        c = sub.add_parser(name, help=help, description=help, epilog=cli_help.epilog(name),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        c.add_argument("model", metavar="MODEL", help="model file, or - for standard input")
        c.set_defaults(handler=handler)
        return c

    c = command("compile", _compile, "print or write the standalone gradient module")
    _common(c)
    c.add_argument("-o", "--out", metavar="FILE", help="write the module here instead of printing it")
    c.add_argument("--stats", action="store_true", help="print instruction counts (to stderr with -o)")
    c.add_argument("--backend", default="numpy", choices=["numpy", "numba"],
                   help="numpy: the array-API module; numba: fused kernels for the shapes of --set/--inputs")
    c.add_argument("--hessian", action="store_true",
                   help="a second-order module: value_grad_hessian(inputs) returns the Hessian too")
    _values(c)

    r = command("run", _run, "evaluate the model and its gradients")
    _common(r)
    _values(r)
    r.add_argument("--device", default="auto", choices=["auto", "numpy", "numba", "cupy", "dask"],
                   help="where to run (auto: cupy when a GPU works, else numba when installed, for inputs "
                        "large enough to repay it; else numpy; dask: chunked arrays, see --scheduler)")
    r.add_argument("--verbose", action="store_true", help="say which device ran it (to stderr)")
    _dask_arguments(r)
    r.add_argument("--json", action="store_true", help='print {"value": ..., "grads": {...}} as JSON')
    r.add_argument("--check-finite", action="store_true",
                   help="a NaN or Inf is an error naming the first equation that made it (default: a warning)")
    r.add_argument("--hessian", action="store_true", help="print the Hessian too (second derivatives)")

    d = command("render", _render, "draw the annotated graph with Graphviz")
    _common(d)
    _values(d)
    d.add_argument("-o", "--out", metavar="FILE", required=True,
                   help="image to write: .svg .png .pdf .dot, or - for SVG on standard output")
    d.add_argument("--highlight", metavar="NAME", help="colour every path from the output back to NAME")
    d.add_argument("--stage", default="forward", choices=["forward", "backward", "program", "kernels"],
                   help="which graph to draw (default: the annotated forward graph)")
    d.add_argument("--ops", action="store_true", help="draw one node per operation, not per equation")
    d.add_argument("--hessian", action="store_true",
                   help="with --stage backward or program: the order-2 program, its second sweep as its own group")

    e = command("explain", _explain, "print the chain-rule derivation of gradients, one input at a time")
    e.add_argument("--wrt", required=True, metavar="A,B", help="the inputs to differentiate with respect to")
    e.add_argument("--output", metavar="NAME", help="the equation to differentiate (default: the one no other uses)")
    _values(e)  # with values, the chain rule and the written-out derivative are compared at them
    e.add_argument("--order", type=int, choices=[1, 2], default=1,
                   help="1: the gradient (default); 2: the second derivative along each input")

    _fit_arguments(command("fit", _fit, "learn the parameters from data with gradient steps"))
    return p


def _common(c):
    c.add_argument("--wrt", metavar="A,B", help="inputs to differentiate with respect to (default: all)")
    c.add_argument("--output", metavar="NAME", help="the equation to differentiate (default: the one no other uses)")


def _values(c):
    c.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="an input value: a number or a JSON list (repeatable)")
    c.add_argument("--inputs", metavar="FILE", action="append", default=[],
                   help="input values from .json .npz .csv .npy .zarr, or - for JSON on standard input "
                   '(repeatable: later files win); a JSON file\'s "wrt" and "output" apply when the flags are absent')


# ---- the commands --------------------------------------------------------------------------------------

def _compile(args):
    import irgraph

    prog = irgraph.compile(_graph(args), wrt=_wrt(args), order=2 if args.hessian else 1)
    stats = "\n".join(f"{k}: {v}" for k, v in prog.stats.items())
    if args.backend == "numba":
        if not (args.set or args.inputs):
            raise Error("--backend numba makes kernels for given input shapes: add --set NAME=VALUE or --inputs FILE")
        source = prog.source_for("numba", _inputs(args))
    else:
        source = prog.source
    if args.out and args.out != "-":
        write_file(args.out, source, model=args.model)
        if args.stats:
            print(stats, file=sys.stderr)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(source, end="")
        if args.stats:
            print("\n# " + stats.replace("\n", "\n# "))


def _run(args):
    import irgraph

    inputs = _inputs(args)  # first: a JSON inputs file may name --wrt and --output
    prog = irgraph.compile(_graph(args), wrt=_wrt(args), order=2 if args.hessian else 1)
    with _dask_session(args):
        res = prog.run(inputs, device=args.device, check_finite=args.check_finite, **_dask_options(args))
    if args.verbose:
        print(f"irgraph: running on {res.device}" + (" (chosen by --device auto)" if args.device == "auto" else ""),
              file=sys.stderr)
    res = res.to_numpy()
    name = prog.output[0]
    if args.json:
        out = {"value": _plain(res.value), "grads": {k: _plain(v) for k, v in res.grads.items()}}
        if res.hessian is not None:
            out["hessian"] = {a: {b: _plain(h) for b, h in row.items()} for a, row in res.hessian.items()}
        print(json.dumps(out))
        return
    print(f"{name} = {_show(res.value)}")
    for k, v in res.grads.items():
        print(f"d{name}/d{k} = {_show(v)}")
    if res.hessian is not None:
        print(_hessian_text(name, res.hessian))


def _render(args):

    inputs = _inputs(args) if args.set or args.inputs else None  # every value and gradient drawn comes from these
    graph = _graph(args)
    if args.wrt:
        parse_wrt(graph, _wrt(args))  # inputs only, as compile takes them: an equation name is refused
    if args.out != "-":
        refuse_overwrite(args.out, args.model)
    options = {"highlight": args.highlight, "inputs": inputs, "stage": args.stage, "ops": args.ops, "wrt": _wrt(args)}
    if args.hessian:
        if args.stage not in ("backward", "program") or inputs is not None:
            raise Error("--hessian draws the second-order program without values: give --stage backward or "
                        "--stage program, and no --set/--inputs")
        import irgraph

        graph = irgraph.compile(graph, wrt=_wrt(args), order=2)
        options["wrt"] = None
    with warnings.catch_warnings(record=True) as notes:  # e.g. a vector output: values but no gradients
        warnings.simplefilter("always")
        if args.out == "-":  # SVG on standard output, for a pipe
            with tempfile.TemporaryDirectory() as folder:
                path = viz.render(graph, os.path.join(folder, "graph.svg"), **options)
                with open(path, "rb") as f:
                    sys.stdout.buffer.write(f.read())
        else:
            path = viz.render(graph, args.out, **options)
    for note in notes:
        print(f"irgraph: {note.message}", file=sys.stderr)
    if args.out != "-":
        print(f"wrote {path}", file=sys.stderr)


def _explain(args):
    inputs = _inputs(args) if args.set or args.inputs else None
    graph = _graph(args)
    wrt = parse_wrt(graph, args.wrt)  # inputs only, as compile takes them: an equation name is refused
    derive = explain_second if args.order == 2 else explain
    print("\n\n".join(derive(graph, w, inputs=inputs) for w in wrt))


# ---- helpers ---------------------------------------------------------------------------------------------

def _graph(args):
    """The model's op-level Graph, its output chosen by --output (or the one equation nothing uses)."""
    import irgraph

    graph = irgraph.parse(_read_model(args), output=args.output)
    if args.output:
        unused = _unused(graph)
        if unused:
            print(f"irgraph: note: with --output {args.output}, these equations are not used: "
                  f"{', '.join(unused)}", file=sys.stderr)
    return graph


def _unused(graph):
    """Equations that the output does not depend on."""
    needed = graph.ancestors(graph.outputs)
    return [n for n, d in graph.nx.nodes(data=True) if d.get("name") and d["op"] != "input" and n not in needed]


def _read_model(args):
    if args.model == "-":
        args.model_label = "<stdin>"
        if not hasattr(sys.stdin, "buffer"):  # a text stream without bytes underneath (a test's StringIO)
            return sys.stdin.read()
        raw = sys.stdin.buffer.read()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Error(f"not UTF-8 text (byte {raw[e.start]:#04x} at offset {e.start})") from None
    args.model_label = args.model
    if os.path.isdir(args.model):
        raise Error(f"{args.model} is a folder, not a model file")
    return datalib.read_text(args.model, named=False)  # the message starts with the model's name already


def _wrt(args):
    if not args.wrt:
        return None
    return [w.strip() for w in args.wrt.split(",") if w.strip()]


def _inputs(args):
    """Input values from --inputs (files, or - for JSON on standard input) and --set. A JSON inputs file's
    "wrt" and "output" stand in for flags that are not given, and the command says so."""
    values = {}
    for source in args.inputs:
        if source == "-":
            if args.model == "-":
                raise Error("the model and --inputs cannot both come from standard input")
            document = datalib.json_document(sys.stdin.read(), "<stdin>")
            values.update(datalib.json_values(document, "<stdin>"))
        else:
            values.update(datalib.load(source))
            if not source.lower().endswith(".json"):
                continue
            with open(source, encoding="utf-8") as f:
                document = datalib.json_document(f.read(), source)
        _take_options(args, datalib.json_options(document), "standard input" if source == "-" else source)
    for item in args.set:
        name, eq, text = item.partition("=")
        if not eq or not name.strip():
            raise Error(f"--set takes NAME=VALUE, got {item!r}")
        try:
            values[name.strip()] = datalib.plain_array(json.loads(text))
        except (json.JSONDecodeError, TypeError, ValueError, RecursionError):
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise Error(f"--set {name.strip()}: {shown!r} is not a number or a JSON list of numbers") from None
    return values


def _take_options(args, options, where):
    """--wrt and --output from an inputs file, where the command line does not give them."""
    taken = [f"--{k} {v}" for k, v in options.items() if getattr(args, k, "") is None]
    for k, v in options.items():
        if getattr(args, k, "") is None:
            setattr(args, k, v)
    if taken:
        print(f"irgraph: using {' '.join(taken)} from {where}", file=sys.stderr)


def _hessian_text(name, hessian):
    """The Hessian as a table when every input is a scalar or a vector (one row per element), else as the
    shapes of its blocks."""
    names = list(hessian)
    sizes = {a: numpy.shape(hessian[a][a])[:numpy.ndim(hessian[a][a]) // 2] for a in names}
    if any(len(s) > 1 for s in sizes.values()):
        lines = [f"Hessian of {name}: blocks d²{name}/da db of shape a.shape + b.shape (--json prints them)"]
        lines += [f"  {a}, {b}: shape {numpy.shape(hessian[a][b])}" for a in names for b in names]
        return "\n".join(lines)
    labels = [a if not s else f"{a}[{i}]" for a, s in sizes.items() for i in range(s[0] if s else 1)]
    rows = [numpy.concatenate([numpy.reshape(hessian[a][b], (sizes[a][0] if sizes[a] else 1, -1)) for b in names],
                              axis=1) for a in names]
    table = numpy.concatenate(rows, axis=0)
    width = max(10, *(len(label) for label in labels)) + 1
    lines = [f"Hessian of {name}:", " " * width + "".join(f"{label:>{width}}" for label in labels)]
    for label, row in zip(labels, table):
        lines.append(f"{label:>{width}}" + "".join(f"{float(x):>{width}.6g}" for x in row))
    return "\n".join(lines)


def _plain(x):
    return x.tolist() if hasattr(x, "tolist") else float(x)


def _show(x):
    if numpy.ndim(x) == 0:
        return f"{float(x):.10g}"
    return f"shape {numpy.shape(x)}\n" + numpy.array2string(numpy.asarray(x), precision=6, separator=", ")


# ---- fit --------------------------------------------------------------------------------------------------

def _fit_arguments(f):
    f.add_argument("--data", metavar="FILE", action="append", required=True,
                   help="the data: .csv (header = input names) .json .npz .npy .zarr (repeatable)")
    f.add_argument("--init", metavar="FILE|zeros|normal", default="zeros",
                   help="starting parameters: a .json file, or zeros / normal with --shape (default: zeros)")
    f.add_argument("--shape", metavar="NAME=DIMS", action="append", default=[],
                   help="a parameter's shape for --init zeros|normal: w=3x1, b=scalar (repeatable)")
    _common(f)
    f.add_argument("--optimizer", default="adam", choices=["sgd", "momentum", "adam", "newton"])
    f.add_argument("--lr", type=float, help="learning rate (default: 0.01; 1 for newton)")
    f.add_argument("--steps", type=int, default=1000, help="gradient steps (default: 1000)")
    f.add_argument("--batch-size", type=int, help="rows per step, drawn by a seeded shuffle (default: all)")
    f.add_argument("--seed", type=int, default=0, help="seed of the shuffle, the split and --init normal")
    f.add_argument("--val-split", type=float, default=0.0, metavar="FRACTION",
                   help="hold out this fraction of the rows and report their loss")
    f.add_argument("-o", "--out", metavar="FILE", help="write the learned parameters as JSON here "
                   "(default: print them)")
    f.add_argument("--plot", metavar="FILE", help="draw the loss curve: .png .svg .pdf")
    f.add_argument("--device", default="auto", choices=["numpy", "cupy", "dask", "auto"],
                   help="where to run (default auto: cupy when a GPU works, else numpy)")
    _dask_arguments(f)
    f.add_argument("-q", "--quiet", action="store_true", help="no progress bar, only the summary line")


def _fit(args):
    from .fit import DivergedError, fit

    model = _read_model(args)
    for out in (args.out, args.plot):
        if out:
            refuse_overwrite(out, args.model)
    try:
        with _dask_session(args):
            result = fit(model, args.data, args.init, wrt=_wrt(args), optimizer=args.optimizer, lr=args.lr,
                         steps=args.steps, batch_size=args.batch_size, seed=args.seed, device=args.device,
                         progress=not args.quiet, val_split=args.val_split, shapes=args.shape or None,
                         output=args.output, **_dask_options(args))
    except DivergedError as e:
        if args.out:
            e.result.save(args.out)
            print(f"wrote {args.out} (the parameters of step {e.step - 1}, the last finite ones)",
                  file=sys.stderr)
        raise
    if args.quiet:
        print(result.summary(), file=sys.stderr)
    if args.plot:
        print(f"wrote {result.plot(args.plot)}", file=sys.stderr)
    if args.out:
        print(f"wrote {result.save(args.out)}", file=sys.stderr)
    else:
        print(json.dumps({k: _plain(v) for k, v in result.params.items()}))


# ---- dask ---------------------------------------------------------------------------------------------------

def _dask_arguments(c):
    c.add_argument("--scheduler", metavar="ADDRESS", help="with --device dask: the dask.distributed "
                   "scheduler to use (tcp://HOST:8786)")
    c.add_argument("--workers", type=int, metavar="N", help="with --device dask: start a local cluster of N "
                   "worker processes")
    c.add_argument("--chunks", type=int, metavar="ROWS", help="with --device dask: rows per chunk of NumPy "
                   "data (default: chunks of about 64 MB for arrays of 64 MB or more)")


def _dask_options(args):
    return {"chunks": args.chunks} if args.device == "dask" else {}


def _dask_session(args):
    """A dask.distributed Client for the command when --scheduler or --workers asks for one."""
    from .backends import dask as dask_device

    if args.device != "dask" and (args.scheduler or args.workers or args.chunks):
        raise Error("--scheduler, --workers and --chunks go with --device dask")
    return dask_device.connect(args.scheduler, args.workers)


if __name__ == "__main__":
    sys.exit(main())
