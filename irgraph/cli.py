"""The `irgraph` command: compile, run, render and explain models.

Every error a user can cause prints as `MODEL:LINE:COL: error: ...` (or `MODEL: error: ...`) and exits 1;
usage errors exit 2. No traceback reaches the terminal.
"""

import argparse
import json
import sys

import numpy

import viz
from viz.explain import explain

from .ir.errors import Error, ParseError

EXIT_ERROR, EXIT_USAGE, EXIT_INTERNAL = 1, 2, 70


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
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


def _parser():
    p = argparse.ArgumentParser(prog="irgraph", description="Compile model equations to gradient programs.")
    sub = p.add_subparsers(dest="command", metavar="{compile,run,render,explain}")

    def command(name, handler, help):
        c = sub.add_parser(name, help=help, description=help)
        c.add_argument("model", metavar="MODEL", help="model file, or - for standard input")
        c.set_defaults(handler=handler)
        return c

    c = command("compile", _compile, "print or write the standalone gradient module")
    _common(c)
    c.add_argument("-o", "--out", metavar="FILE", help="write the module here instead of printing it")
    c.add_argument("--stats", action="store_true", help="print instruction counts (to stderr with -o)")

    r = command("run", _run, "evaluate the model and its gradients")
    _common(r)
    _values(r)
    r.add_argument("--device", default="numpy", choices=["numpy", "cupy", "auto"],
                   help="where to run (auto: cupy when a GPU works, else numpy)")
    r.add_argument("--json", action="store_true", help='print {"value": ..., "grads": {...}} as JSON')

    d = command("render", _render, "draw the annotated graph with Graphviz")
    _common(d)
    _values(d)
    d.add_argument("-o", "--out", metavar="FILE", required=True, help="image to write: .svg .png .pdf .dot")
    d.add_argument("--highlight", metavar="NAME", help="colour every path from the output back to NAME")
    d.add_argument("--stage", default="forward", choices=["forward", "backward", "program"],
                   help="which graph to draw (default: the annotated forward graph)")
    d.add_argument("--ops", action="store_true", help="draw one node per operation, not per equation")

    e = command("explain", _explain, "print the chain-rule derivation of one gradient")
    e.add_argument("--wrt", required=True, metavar="NAME", help="the input to differentiate with respect to")
    e.add_argument("--output", metavar="NAME", help="the equation to differentiate (default: the one no other uses)")
    return p


def _common(c):
    c.add_argument("--wrt", metavar="A,B", help="inputs to differentiate with respect to (default: all)")
    c.add_argument("--output", metavar="NAME", help="the equation to differentiate (default: the one no other uses)")


def _values(c):
    c.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="an input value: a number or a JSON list (repeatable)")
    c.add_argument("--inputs", metavar="FILE", help="input values from a .json object or an .npz archive")


# ---- the commands --------------------------------------------------------------------------------------

def _compile(args):
    import irgraph

    prog = irgraph.compile(_graph(args), wrt=_wrt(args))
    stats = "\n".join(f"{k}: {v}" for k, v in prog.stats.items())
    if args.out:
        with open(args.out, "w") as f:
            f.write(prog.source)
        if args.stats:
            print(stats, file=sys.stderr)
    else:
        print(prog.source, end="")
        if args.stats:
            print("\n# " + stats.replace("\n", "\n# "))


def _run(args):
    import irgraph

    prog = irgraph.compile(_graph(args), wrt=_wrt(args))
    res = prog.run(_inputs(args), device=args.device)
    if args.device == "auto":
        print(f"irgraph: running on {res.device}", file=sys.stderr)
    res = res.to_numpy()
    name = prog.output[0]
    if args.json:
        print(json.dumps({"value": _plain(res.value), "grads": {k: _plain(v) for k, v in res.grads.items()}}))
        return
    print(f"{name} = {_show(res.value)}")
    for k, v in res.grads.items():
        print(f"d{name}/d{k} = {_show(v)}")


def _render(args):
    import irgraph

    graph = _graph(args)
    values = inputs = None
    if args.set or args.inputs:
        inputs = _inputs(args)  # every node's value and gradient are drawn from these
        try:
            values = irgraph.compile(graph, wrt=_wrt(args)).run(inputs)
        except Error as e:  # e.g. a vector output has values but no gradient: still draw the values
            irgraph.compile(graph, wrt=[]).run(inputs)  # raises if the inputs are wrong
            print(f"irgraph: drawing values without gradients: {e}", file=sys.stderr)
    path = viz.render(graph, args.out, highlight=args.highlight, values=values, inputs=inputs, stage=args.stage,
                      ops=args.ops, wrt=_wrt(args))
    print(f"wrote {path}", file=sys.stderr)


def _explain(args):
    print(explain(_graph(args), args.wrt))


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
        return sys.stdin.read()
    args.model_label = args.model
    with open(args.model, encoding="utf-8") as f:
        return f.read()


def _wrt(args):
    if not args.wrt:
        return None
    return [w.strip() for w in args.wrt.split(",") if w.strip()]


def _inputs(args):
    values = {}
    if args.inputs:
        values.update(_load_inputs(args.inputs))
    for item in args.set:
        name, eq, text = item.partition("=")
        if not eq or not name.strip():
            raise Error(f"--set takes NAME=VALUE, got {item!r}")
        try:
            values[name.strip()] = _array(json.loads(text))
        except (json.JSONDecodeError, TypeError, ValueError):
            raise Error(f"--set {name.strip()}: {text!r} is not a number or a JSON list of numbers") from None
    return values


def _load_inputs(path):
    if path.endswith(".npz"):
        with numpy.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise Error(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("inputs"), dict):
        data = data["inputs"]  # the examples' reference files keep their inputs under "inputs"
    if not isinstance(data, dict):
        raise Error(f"{path}: expected a JSON object of name: value")
    try:
        return {k: _array(v) for k, v in data.items()}
    except (TypeError, ValueError):
        raise Error(f"{path}: every value must be a number or a (nested) list of numbers") from None


def _array(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise TypeError(value)
    if isinstance(value, float):
        return value
    arr = numpy.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise ValueError(value)
    return arr


def _plain(x):
    return x.tolist() if hasattr(x, "tolist") else float(x)


def _show(x):
    if numpy.ndim(x) == 0:
        return f"{float(x):.10g}"
    return f"shape {numpy.shape(x)}\n" + numpy.array2string(numpy.asarray(x), precision=6, separator=", ")


if __name__ == "__main__":
    sys.exit(main())
