"""Graph or Program → graphviz.Digraph → svg / png / pdf / dot: the public functions and the Graphviz call.

Four views, one per stage of the compiler (each in its own file):

- the annotated forward graph at the equation level (the default) and at the op level (`ops=True`),
  viz/forward.py; `highlight` colours every path from the output back to one variable and captions the
  chain rule along it (viz/caption.py);
- the compiled graph (`stage="backward"`) and the scheduled program (`stage="program"`), viz/compiled.py.

Every view builds a Scene (viz/scene.py) that `emit` turns into DOT; large models are grouped and cut to the
part nearest the output first (viz/trim.py).
"""

import os
import subprocess
import warnings
from collections.abc import Mapping

import passes
from irgraph.backends.execute import Result
from irgraph.ir.errors import Error
from irgraph.ir.files import write_file
from irgraph.ir.graph import Graph, parse_wrt
from irgraph.ir.program import Program

from . import compiled, forward, kernels, page, style
from . import values as V
from .scene import emit

FORMATS = ("svg", "png", "pdf", "dot", "html", "gv")
STAGES = ("forward", "backward", "program", "kernels")

INSTALL_GRAPHVIZ = (
    "Graphviz's `dot` program is needed to write {fmt} files but was not found on PATH. Install Graphviz "
    "(the system package, not only the Python binding): `sudo apt-get install graphviz` on Debian/Ubuntu, "
    "`brew install graphviz` on macOS, `conda install -c conda-forge graphviz`, or `make dot` in this "
    "repository; check with `dot -V`. A .dot file needs no Graphviz: `-o picture.dot`."
)


def render(obj, path, highlight=None, values=None, stage="forward", ops=False, wrt=None, inputs=None):
    """Draw `obj` (an irgraph.Graph of either level, or a Program) to `path`; the format is its suffix
    (.svg .png .pdf, or .dot for the Graphviz source, which needs no Graphviz). Returns the path.

    highlight: a name; every path from the output back to it is coloured, with the chain rule as caption.
    values: a Result (the output's value and the gradients) and/or a dict of input values; with input
    values every node shows its value and its gradient. stage: "forward", "backward", "program" or
    "kernels" (viz/kernels.py).
    ops: the op level instead of the equation level. wrt: the inputs being learned (drawn as parameters).
    """
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in FORMATS:
        raise Error(f"cannot tell the image format from {path!r}: use a name ending in "
                    f"{', '.join('.' + f for f in FORMATS if f != 'gv')}")
    if fmt == "html":
        data = interactive(obj, highlight=highlight, values=values, wrt=wrt, inputs=inputs).encode("utf-8")
    else:
        digraph = to_digraph(obj, highlight=highlight, values=values, stage=stage, ops=ops, wrt=wrt, inputs=inputs)
        data = digraph.source.encode("utf-8") if fmt in ("dot", "gv") else draw(digraph, fmt, path)
    return write_file(path, data)


def draw(digraph, fmt, path="the picture"):
    """Graphviz's drawing of a digraph in `fmt` (bytes). What Graphviz warns about (a drawing scaled down,
    a label that did not fit) is passed on as a Python warning, which the CLI prints as a note."""
    try:
        done = subprocess.run(["dot", f"-T{fmt}"], input=digraph.source.encode("utf-8"), capture_output=True,
                              check=False)
    except FileNotFoundError:
        raise Error(INSTALL_GRAPHVIZ.format(fmt=fmt.upper())) from None
    detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
    if done.returncode != 0:
        raise Error(f"Graphviz could not draw {path}: {detail[-1] if detail else done.returncode}")
    for line in detail:
        warnings.warn(f"Graphviz: {line.strip()}", stacklevel=3)
    return done.stdout


def interactive(obj, highlight=None, values=None, wrt=None, inputs=None):
    """The interactive page (one self-contained HTML file, viz/page.py) of an op-level Graph or a Program."""
    result, inputs = split_values(values, inputs)
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    if isinstance(obj, Program):
        raise Error("the interactive page draws the model at every stage: give the Graph from irgraph.parse")
    if not isinstance(obj, Graph):
        raise Error(f"render draws an irgraph.Graph or Program, not {type(obj).__name__}")
    return page.page(obj, lambda dg: draw(dg, "svg").decode("utf-8"), wrt=wrt, inputs=inputs, result=result,
                     highlight=highlight)


def to_digraph(obj, highlight=None, values=None, stage="forward", ops=False, wrt=None, inputs=None):
    """The picture as a graphviz.Digraph (same options as `render`); Jupyter shows it inline."""
    if stage not in STAGES:
        raise Error(f"unknown stage {stage!r}: choose one of {', '.join(STAGES)}")
    result, inputs = split_values(values, inputs)
    if wrt is not None and isinstance(obj, Graph):
        wrt = parse_wrt(obj, wrt)  # inputs only, as compile takes them: an equation name is refused
    elif isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    if stage == "kernels":  # viz/kernels.py: the fused kernels, for the shapes of the inputs when given
        program = obj if isinstance(obj, Program) else None
        if program is None and isinstance(obj, Graph) and obj.level == "op":
            program = passes.schedule(obj) if obj.meta.grads is not None else passes.compile_program(obj, wrt)
        if program is None:
            raise Error("stage 'kernels' draws a compiled program: give a Program or the op-level graph")
        return kernels.kernel_digraph(program, inputs)
    if isinstance(obj, Program):
        # A Program is drawn as its instructions, or as the compiled graph it was scheduled from.
        scene = compiled.compiled_scene(obj, "backward" if stage == "backward" else "program", highlight, result,
                                        inputs)
    elif isinstance(obj, Graph):
        done = obj.meta.grads is not None  # already compiled
        if stage == "forward" and not done:
            if obj.level == "equation" and inputs is not None:
                raise Error("the values of a picture come from running the compiled model: give the op-level "
                            "graph from irgraph.parse, not the equation level")
            op_graph = obj if obj.level == "op" else None
            out = obj.outputs[0]
            numbers = V.forward_numbers(op_graph, out, wrt, result, inputs) if op_graph else V.of_result(
                result, out, obj.nx)
            if obj.level == "equation":
                scene = forward.equation_scene(obj, wrt, highlight, numbers)
            elif ops and forward.op_count(obj) <= style.GROUP_AT:
                scene = forward.op_scene(obj, wrt, highlight, numbers)
            else:
                counts = forward.ops_per_line(obj) if ops else None
                scene = forward.equation_scene(obj.equations(), wrt, highlight, numbers, op_counts=counts)
        else:
            if obj.level == "equation":
                raise Error(f"stage {stage!r} draws the compiled program: give the op-level graph from "
                            "irgraph.parse, not the equation level")
            program = passes.schedule(obj) if done else passes.compile_program(obj, wrt)
            scene = compiled.compiled_scene(program, stage, highlight, result, inputs,
                                            eq=None if done else obj.equations())
    else:
        raise Error(f"render draws an irgraph.Graph or Program, not {type(obj).__name__}")
    return emit(scene)


# ---- values ----------------------------------------------------------------------------------------------

def split_values(values, inputs):
    """(Result or None, input dict or None) from the `values` and `inputs` arguments."""
    result = None
    if values is None:
        pass
    elif isinstance(values, Result) or (hasattr(values, "value") and hasattr(values, "grads")):
        result = values
    elif isinstance(values, Mapping):
        inputs = values if inputs is None else {**values, **inputs}
    else:
        raise Error(f"values must be a Result (from Program.run) or a dict of input values, "
                    f"not {type(values).__name__}")
    if inputs is not None and not isinstance(inputs, Mapping):
        raise Error(f"inputs must be a dict of input values, not {type(inputs).__name__}")
    if result is not None:
        result = result.to_numpy() if hasattr(result, "to_numpy") else result
    return result, (dict(inputs) if inputs is not None else None)

