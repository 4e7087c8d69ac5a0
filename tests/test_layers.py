"""The floors of the code base: imports only point down, and no module-level import circle exists.

irgraph/ir and irgraph/backends (the core) import nothing from passes, viz or the top layer; passes import
the core only; viz imports the core and passes; the top layer (irgraph/__init__.py, compiler.py, cli.py,
display.py, ...) wires them. Checked from the source with `ast`, so a lazy import inside a function counts.
"""

import ast
import itertools
import pathlib
import subprocess
import sys

import networkx as nx
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("irgraph", "passes", "viz")


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _imports(name, path, known):
    """The project modules that `name` imports anywhere in its source (module level or inside functions)."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            stem = base[: len(base) - node.level + 1] if node.level else []
            module = ".".join(stem + ([node.module] if node.module else []))
            subs = [f"{module}.{a.name}" for a in node.names]
            # `from . import chain` imports the submodule; `from .graph import Graph` the module itself
            targets = subs if all(t in known for t in subs) else [module, *subs]
        else:
            continue
        for t in targets:
            while t and t not in known:  # `from irgraph.ir.expr import G` names the module irgraph.ir.expr
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


MODULES = _modules()
GRAPH = nx.DiGraph((m, t) for m, p in MODULES.items() for t in _imports(m, p, MODULES))


def _floor(module):
    if module.startswith(("irgraph.ir", "irgraph.backends")):
        return 1
    if module.startswith("passes"):
        return 2
    if module.startswith("viz"):
        return 3
    return 4  # irgraph itself, compiler, cli, display, ...


def test_imports_only_point_down():
    upward = sorted(f"{m} imports {t}" for m, t in GRAPH.edges if _floor(t) > _floor(m))
    assert not upward, "imports that point up a floor:\n" + "\n".join(upward)


def test_core_does_not_import_passes_or_viz():
    core = [m for m in MODULES if _floor(m) == 1]
    bad = sorted(f"{m} imports {t}" for m in core if m in GRAPH for t in GRAPH.successors(m) if _floor(t) != 1) if core else []
    assert core and not bad, bad


def test_no_import_circles():
    cycles = list(itertools.islice(nx.simple_cycles(GRAPH), 5))
    assert not cycles, f"import circles: {cycles}"


@pytest.mark.parametrize("first", ["irgraph", "passes", "viz", "irgraph.ir.graph", "irgraph.backends.codegen",
                                   "irgraph.cli", "viz.explain", "passes.schedule"])
def test_any_package_can_be_imported_first(first):
    """Python imports a package's parent first; whatever is imported first, the rest must still load."""
    code = f"import {first}; import irgraph, passes, viz; irgraph.compile('y = x*x').run({{'x': 2.0}})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
