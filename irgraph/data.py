"""Named arrays from a mapping or files: .csv .json .npz, .npy (memory-mapped) and .zarr (chunked, via Dask).

`run --inputs` and `fit --data` read data through `load`. Numbers in JSON stay Python floats (the fast
scalar path); everything else becomes an array. Nothing here knows about models: checking the names
against a model's inputs is the caller's job.
"""

import csv
import json
import os

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
    with open(path, encoding="utf-8") as f:
        return json_values(json_document(f.read(), path), path)


def json_document(text, where):
    """The JSON object in `text` (from `where`, a path or "<stdin>", for messages)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise Error(f"{where}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
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
    with numpy.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _npy(path):
    """One array, named after the file (X.npy holds X), memory-mapped: read from disk as it is used."""
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        return {name: numpy.load(path, mmap_mode="r", allow_pickle=False)}
    except ValueError as e:
        raise Error(f"{path}: not a .npy array file: {e}") from None


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
