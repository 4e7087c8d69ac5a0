"""The dask device: the program runs lazily on Dask arrays, and one dask.compute call evaluates the value
and every gradient together, so subterms they share are computed once, chunk by chunk, on whatever
scheduler is active (a dask.distributed Client when one is connected, else Dask's threads).

Data that are Dask arrays are used as they are. NumPy arrays (memory-mapped .npy files too) of at least
THRESHOLD_BYTES are split into chunks of about CHUNK_BYTES along their batch axis (see batch.py);
smaller arrays, such as the parameters, stay whole. Results come back as NumPy arrays.
"""

import contextlib

import numpy

from ..ir.errors import Error
from . import batch, execute, finite
from .devices import DASK_HELP as _HELP
from .devices import dask_array as array_module

THRESHOLD_BYTES = 64 * 2**20
CHUNK_BYTES = 64 * 2**20
CONNECT_TIMEOUT_S = 10


def run(program, inputs, chunks=None, check_finite=False):
    """Value and gradients (a Result of NumPy arrays) from one dask.compute over the program's graph.

    A NaN or Inf in the results is a NonFiniteWarning (an Error with check_finite); finding the first
    equation that made it would mean keeping every intermediate array, so the message says how to."""
    import dask

    da = array_module()
    if not hasattr(inputs, "keys"):
        raise Error(f"inputs must be a mapping of names to values, not {type(inputs).__name__}")
    arrays = as_dask(inputs, chunks)
    env = execute.trace(program, arrays, da)  # builds the task graph; shape errors name the equation
    out = env[program.output[1]]
    grads = [env[v] for _, v in program.grads]
    where = scheduler_name()  # before computing: a client that loses its scheduler closes itself
    try:
        with execute.quiet(numpy):
            value, *grads = dask.compute(out, *grads)
    except Exception as e:  # noqa: BLE001 - workers, connections and array code fail in many ways
        raise Error(_failure(e, where)) from None
    result = execute.Result(_host(value), {name: _host(g) for (name, _), g in zip(program.grads, grads)}, "dask")
    if not finite.all_finite(numpy, result.value, result.grads):
        message = (f"the value or a gradient of {program.output[0]!r} is NaN or Inf on Dask; to find the first "
                   "equation that made it, run some of the rows with device='numpy' and check_finite=True")
        if check_finite:
            raise Error(message)
        finite.warn(message)
    return result


def as_dask(inputs, chunks=None):
    """The inputs with large NumPy arrays (or those `chunks` names) as chunked Dask arrays.

    chunks: None (arrays of THRESHOLD_BYTES or more get chunks of about CHUNK_BYTES along their batch
    axis), an int (rows per chunk along the batch axis, for every array that has one), or a mapping of
    input name to a dask.array chunks specification (an int for every axis, a tuple of block sizes, ...).
    """
    da = array_module()
    if chunks is not None and not isinstance(chunks, (int, dict)) or isinstance(chunks, bool):
        raise Error(f"chunks must be a number of rows or a mapping of input name to chunks, not {chunks!r}")
    if isinstance(chunks, int) and chunks < 1:
        raise Error(f"chunks must be a positive number of rows, not {chunks}")
    _, axes = batch.batch_axes(inputs)
    rows = _rows(inputs, axes, chunks)
    out = {}
    for name, x in inputs.items():
        if isinstance(x, da.Array) or not isinstance(x, numpy.ndarray):
            out[name] = x
            continue
        if isinstance(chunks, dict) and name in chunks:
            spec = chunks[name]
        elif name in axes and rows is not None:
            spec = {axes[name]: rows, **{a: -1 for a in range(x.ndim) if a != axes[name]}}
        else:
            out[name] = x
            continue
        source = MappedFile.of(x) if isinstance(x, numpy.memmap) else x
        try:
            out[name] = da.from_array(source, chunks=spec)
        except (TypeError, ValueError) as e:
            raise Error(f"chunks for input {name!r} of shape {x.shape}: {e}") from None
    return out


def _rows(inputs, axes, chunks):
    """Rows per chunk along the batch axis, the same for every NumPy array that has one (so their chunks
    line up): `chunks` when it is a number, else enough for CHUNK_BYTES once any of them is large."""
    if isinstance(chunks, int):
        return chunks
    batched = {name: x for name, x in inputs.items() if name in axes and isinstance(x, numpy.ndarray)}
    if not any(x.nbytes >= THRESHOLD_BYTES for x in batched.values()):
        return None
    row_bytes = max(x.nbytes // x.shape[axes[name]] for name, x in batched.items())
    return max(1, CHUNK_BYTES // max(row_bytes, 1))


class MappedFile:
    """A memory-mapped .npy file as an array-like that pickles as its path: workers read their own rows."""

    def __init__(self, filename, offset, shape, dtype, order):
        self.filename, self.offset, self.order = filename, offset, order
        self.shape, self.dtype, self.ndim = tuple(shape), numpy.dtype(dtype), len(shape)

    @classmethod
    def of(cls, m):
        base = m
        while getattr(base, "base", None) is not None and isinstance(base.base, numpy.memmap):
            base = base.base
        if base is not m or not getattr(m, "filename", None):  # a view of a map: copy-free but not picklable
            return m
        return cls(m.filename, m.offset, m.shape, m.dtype, "F" if m.flags.f_contiguous and m.ndim > 1 else "C")

    def __getitem__(self, index):
        m = numpy.memmap(self.filename, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape,
                         order=self.order)
        return numpy.array(m[index])


# ---- chunks as the unit of sampling (fit) --------------------------------------------------------------------

def aligned(arrays, chunks=None):
    """The arrays, every one with a batch axis as a Dask array whose chunks along it line up with the
    others' (those of the first Dask array among them, else `chunks` rows or the default)."""
    da = array_module()
    arrays = as_dask(arrays, chunks)
    _, axes = batch.batch_axes(arrays)
    ref = next((x.chunks[axes[n]] for n, x in arrays.items() if n in axes and isinstance(x, da.Array)), None)
    out = {}
    for name, x in arrays.items():
        if name not in axes:
            out[name] = x
            continue
        axis = axes[name]
        ref = ref or (x.shape[axis],)
        if not isinstance(x, da.Array):
            x = da.from_array(MappedFile.of(x) if isinstance(x, numpy.memmap) else numpy.asarray(x),
                              chunks={axis: ref, **{a: -1 for a in range(x.ndim) if a != axis}})
        out[name] = x if x.chunks[axis] == ref else x.rechunk({axis: ref})
    return out, axes


def take_blocks(arrays, axes, ids):
    """Only the chunks `ids` (block numbers along the batch axis) of every batched array."""
    ids = [int(i) for i in ids]
    return {n: x.blocks[tuple(ids if a == axes[n] else slice(None) for a in range(x.ndim))] if n in axes else x
            for n, x in arrays.items()}


def split_blocks(arrays, axes, fraction, rng):
    """(training, validation): a seeded random `fraction` of the chunks is held out."""
    blocks = _block_count(arrays, axes)
    n_val = round(blocks * fraction)
    if n_val < 1 or n_val >= blocks:
        raise Error(f"a validation split of {fraction} on Dask holds out whole chunks, and the data has {blocks} "
                    "along the batch axis: use smaller chunks (--chunks ROWS)")
    order = rng.permutation(blocks)
    return take_blocks(arrays, axes, sorted(order[n_val:])), take_blocks(arrays, axes, sorted(order[:n_val]))


def block_batches(arrays, axes, batch_size, rng):
    """Endless mini-batches of whole chunks, about `batch_size` rows each, in a new seeded order every pass."""
    blocks = _block_count(arrays, axes)
    n = next(x.shape[axes[k]] for k, x in arrays.items() if k in axes)
    per_batch = min(blocks, max(1, round(batch_size * blocks / n)))
    batched = {k: x for k, x in arrays.items() if k in axes}
    while True:
        order = rng.permutation(blocks)
        for lo in range(0, blocks - per_batch + 1, per_batch):
            yield take_blocks(batched, axes, sorted(order[lo:lo + per_batch]))


def _block_count(arrays, axes):
    return next((x.numblocks[axes[k]] for k, x in arrays.items() if k in axes), 0)


def _host(x):
    return x if type(x) is float else numpy.asarray(x)


# ---- schedulers -------------------------------------------------------------------------------------------

def scheduler_name():
    """Where Dask computes now, as a user would look for it."""
    try:
        from distributed import default_client

        return f"the Dask scheduler at {default_client().scheduler.address}"
    except (ImportError, ValueError, AttributeError):
        return "Dask's local threaded scheduler"


def _failure(e, where):
    kind = type(e).__name__
    if kind == "KilledWorker":
        return (f"a Dask worker died while computing on {where} ({e}); check the workers' logs and their "
                "memory_limit: a worker that runs out of memory is killed")
    if isinstance(e, (OSError, TimeoutError)) or kind in ("CommClosedError", "CancelledError", "FutureCancelledError"):
        return (f"lost the connection to {where} ({kind}: {e}); check that the scheduler and its workers are "
                "still running and reachable")
    return f"the Dask computation failed on {where}: {kind}: {e}"


@contextlib.contextmanager
def connect(scheduler=None, workers=None):
    """A dask.distributed Client for the block: to `scheduler` (an address), or a local cluster of `workers`
    processes; nothing when both are None (Dask's threads)."""
    if scheduler is None and workers is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise Error(f"--scheduler and --workers need dask.distributed; {_HELP}") from None
    if scheduler is not None and workers is not None:
        raise Error("give either --scheduler (an existing cluster) or --workers (a new local one), not both")
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=True)
        except Exception as e:  # noqa: BLE001 - OSError, TimeoutError, ValueError for a bad address, ...
            raise Error(f"could not connect to the Dask scheduler at {scheduler} ({type(e).__name__}: {e}); check "
                        "that it is running and that the address (tcp://HOST:8786) and port are right") from None
        with client:
            yield client
        return
    if not isinstance(workers, int) or workers < 1:
        raise Error(f"--workers must be a positive number of worker processes, not {workers!r}")
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster, \
            Client(cluster, set_as_default=True) as client:
        yield client
