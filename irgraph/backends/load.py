"""The one place irgraph executes code: modules that its own code generators wrote.

What runs here is only ever generated source (codegen.py, numba_codegen.py): identifiers the scheduler
made safe, numbers, and string literals written with repr(). User text never reaches it: the parser turns
model text into IR, and the generators print IR.
"""

import hashlib
import importlib.util
import os
import pathlib
import sys
import tempfile


def load(source, name="irgraph_generated"):
    """The namespace of a generated module, executed in memory."""
    namespace = {"__name__": name}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # noqa: S102 - generated code only, see above
    return namespace


def load_cached(source, prefix="irgraph_numba"):
    """A generated module imported from a file named by the hash of its source, so that Numba's on-disk
    cache (cache=True, keyed by file and function) lets a second process skip compiling it."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    name = f"{prefix}_{digest}"
    if name in sys.modules:
        return vars(sys.modules[name])
    path = cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source)
        os.replace(tmp, path)  # atomic: a concurrent process sees the whole file or none
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)  # generated code only, see above
    except BaseException:
        del sys.modules[name]
        raise
    return vars(module)


def cache_dir():
    """Where generated kernels and Numba's compiled code live: $IRGRAPH_CACHE_DIR, else the user cache."""
    base = os.environ.get("IRGRAPH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "irgraph")
    path = pathlib.Path(base)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        path = pathlib.Path(tempfile.gettempdir()) / "irgraph-cache"
        path.mkdir(parents=True, exist_ok=True)
    return path
