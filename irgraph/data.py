"""Named arrays from a mapping or files: .csv .json .npz, .npy (memory-mapped) and .zarr (chunked, via Dask).

`run --inputs` and `fit --data` read data through `load`. Numbers in JSON stay Python floats (the fast
scalar path); everything else becomes an array. Nothing here knows about models: checking the names
against a model's inputs is the caller's job.
"""

import csv
import json
import os
import sys

import numpy

from .ir.errors import Error

SUFFIXES = (".csv", ".json", ".npz", ".npy", ".zarr")


def load(source):
    """{name: array or float} from a mapping, a file path, or a list of them (later entries win)."""
    if hasattr(source, "keys"):
        return dict(source)
    if isinstance(source, (list, tuple)):
        merged = {}
        for item in source:
            merged.update(load(item))
        return merged
    if not isinstance(source, (str, os.PathLike)):
        raise Error(f"data must be a mapping of names to arrays or a file path, not {type(source).__name__}")
    path = os.fspath(source)
    if path.rstrip("/").endswith(".zarr"):
        return _zarr(path.rstrip("/"))
    if os.path.isdir(path):
        return _npy_folder(path)
    suffix = os.path.splitext(path)[1].lower()
    reader = {".csv": _csv, ".json": _json, ".npz": _npz, ".npy": _npy}.get(suffix)
    if reader is None:
        raise Error(f"{path}: unknown data format {suffix or '(no suffix)'!r}; use one of {', '.join(SUFFIXES)}"
                    " or a folder of .npy files")
    if not os.path.exists(path):
        raise Error(f"{path}: no such file")
    return reader(path)


def _csv(path):
    """One array per column; the header names the columns."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if not header or not any(h.strip() for h in header):
            raise Error(f"{path}: empty file; a CSV needs a header line naming its columns")
        names = [h.strip() for h in header]
        for i, name in enumerate(names):
            if not name:
                raise Error(f"{path}:1: column {i + 1} has no name in the header")
            if name in names[:i]:
                raise Error(f"{path}:1: column {name!r} appears twice in the header")
        columns = [[] for _ in names]
        for line, row in enumerate(rows, start=2):
            if not row or not "".join(row).strip():
                continue
            if len(row) != len(names):
                raise Error(f"{path}:{line}: {len(row)} values, but the header names {len(names)} columns")
            for i, text in enumerate(row):
                try:
                    columns[i].append(float(text))
                except ValueError:
                    raise Error(f"{path}:{line}: column {names[i]!r}: {text.strip()!r} is not a number") from None
    return {name: numpy.asarray(col, dtype=float) for name, col in zip(names, columns)}


def _json(path):
    return json_values(json_document(read_text(path), path), path)


def read_text(path, named=True):
    """A UTF-8 text file's content; other encodings are an Error naming the byte (and the file, if `named`)."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        where = f"{path}: " if named else ""
        raise Error(f"{where}not UTF-8 text (byte {raw[e.start]:#04x} at offset {e.start}); save it as UTF-8") \
            from None


def json_document(text, where):
    """The JSON object in `text` (from `where`, a path or "<stdin>", for messages)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise Error(f"{where}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
    except RecursionError:
        raise Error(f"{where}: JSON nested too deeply (over {sys.getrecursionlimit()} levels)") from None
    if not isinstance(data, dict):
        raise Error(f"{where}: expected a JSON object of name: value")
    return data


def json_options(data):
    """The "wrt" and "output" a JSON inputs document names ({} when it names neither), as the CLI's flags."""
    options = {}
    if isinstance(data.get("wrt"), list) and all(isinstance(w, str) for w in data["wrt"]):
        options["wrt"] = ",".join(data["wrt"])
    elif isinstance(data.get("wrt"), str):
        options["wrt"] = data["wrt"]
    if isinstance(data.get("output"), str):
        options["output"] = data["output"]
    return options


def json_values(data, where):
    """{name: float or array} from a JSON inputs document: a plain object of name: value, or the
    examples' reference files, which keep their inputs under "inputs" (beside "wrt", "output", ...)."""
    if isinstance(data.get("inputs"), dict):
        data = data["inputs"]
    else:
        options = json_options(data)
        data = {k: v for k, v in data.items() if k not in options}
    out = {}
    for name, value in data.items():
        try:
            out[name] = plain_array(value)
        except (TypeError, ValueError):
            raise Error(f"{where}: {name!r} must be a number or a (nested) list of numbers") from None
    return out


def plain_array(value):
    """A JSON value as a float (numbers) or a NumPy array (lists); TypeError or ValueError for the rest."""
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise TypeError(value)
    if isinstance(value, float):
        return value
    arr = numpy.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise ValueError(value)
    return arr


def _npz(path):
    try:
        data = numpy.load(path, allow_pickle=False)
        if not hasattr(data, "files"):
            raise ValueError("a single .npy array, not an .npz archive of named arrays")
        with data:
            arrays = {k: data[k] for k in data.files}
    except Exception as e:  # noqa: BLE001 - a damaged file fails inside numpy and zipfile in many ways
        raise Error(f"{path}: not a readable .npz archive: {_why(e)}") from None
    for name, value in arrays.items():
        if not isinstance(value, numpy.ndarray):  # a zip member that is not .npy data comes back as bytes
            raise Error(f"{path}: member {name!r} is not a NumPy array")
    return arrays


def _npy(path):
    """One array, named after the file (X.npy holds X), memory-mapped: read from disk as it is used."""
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        return {name: numpy.load(path, mmap_mode="r", allow_pickle=False)}
    except Exception as e:  # noqa: BLE001 - a damaged file fails inside numpy in many ways
        raise Error(f"{path}: not a readable .npy array file: {_why(e)}") from None


def _why(e):
    """What is wrong with a data file, in one line."""
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "pickle" in text:
        return "it holds pickled (object) data, which irgraph never loads; save plain number arrays"
    if isinstance(e, EOFError) or not text.strip():
        return "the file is empty or cut short"
    return text


def _npy_folder(path):
    files = sorted(f for f in os.listdir(path) if f.endswith(".npy"))
    if not files:
        raise Error(f"{path}: a data folder must hold .npy files (one per input) or be a .zarr store")
    out = {}
    for f in files:
        out.update(_npy(os.path.join(path, f)))
    return out


def _zarr(path):
    """Every array of a Zarr group, as Dask arrays with the store's own chunks (nothing is read yet)."""
    try:
        import dask.array as da
        import zarr
    except ImportError:
        raise Error(f"{path}: reading Zarr data needs the dask extra: pip install 'irgraph[dask]'") from None
    if not os.path.exists(path):
        raise Error(f"{path}: no such Zarr store")
    try:
        group = zarr.open_group(path, mode="r")
        names = sorted(name for name, _ in group.arrays())
    except Exception as e:  # noqa: BLE001 - zarr raises many types for a store it cannot read
        raise Error(f"{path}: not a Zarr group of named arrays ({type(e).__name__}: {e})") from None
    if not names:
        raise Error(f"{path}: the Zarr group holds no arrays")
    return {name: da.from_zarr(path, component=name) for name in names}
