"""Out of core: the linear-regression gradient over a Zarr data set larger than the workers' memory.

    python tests/backends/out_of_core.py STORE.zarr [GIGABYTES]

Writes x1, x2 and y chunk by chunk (so the data never sit in memory) while accumulating the reference
gradient with plain NumPy, chunk by chunk; then computes the same gradient with irgraph on a LocalCluster of
2 workers with a 1 GB memory_limit each, and prints one JSON line: both answers, the time each part took
and this process's peak resident memory. tests/backends/test_dask.py runs it in a subprocess, so the
peak memory measured is that of the process driving the computation alone.
"""

import json
import logging
import pathlib
import resource
import sys
import time

import numpy as np
import zarr

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHUNK_ROWS = 2**22  # 32 MB of float64 per chunk
PARAMS = {"b": 0.5, "w1": -1.0, "w2": 2.0}


def write(path, gigabytes):
    """The data set, chunk by chunk, and the reference (value, gradients) summed up along the way."""
    rows = int(gigabytes * 2**30 / (3 * 8)) // CHUNK_ROWS * CHUNK_ROWS
    group = zarr.open_group(str(path), mode="w")
    arrays = {k: group.create_array(k, shape=(rows,), chunks=(CHUNK_ROWS,), dtype="f8", compressors=None)
              for k in ("x1", "x2", "y")}
    sums = np.zeros(4)  # sum of r^2, 2r, 2r*x1, 2r*x2 with r = yhat - y
    for i, lo in enumerate(range(0, rows, CHUNK_ROWS)):
        rng = np.random.default_rng(i)
        x1, x2 = rng.normal(size=CHUNK_ROWS), rng.normal(size=CHUNK_ROWS)
        y = 1.5 + 2.0 * x1 - 3.0 * x2 + 0.1 * rng.normal(size=CHUNK_ROWS)
        for k, v in (("x1", x1), ("x2", x2), ("y", y)):
            arrays[k][lo:lo + CHUNK_ROWS] = v
        r = PARAMS["b"] + PARAMS["w1"] * x1 + PARAMS["w2"] * x2 - y
        sums += [np.sum(r * r), np.sum(2 * r), np.sum(2 * r * x1), np.sum(2 * r * x2)]
    sums /= rows
    return rows, {"value": sums[0], "grads": {"b": sums[1], "w1": sums[2], "w2": sums[3]}}


def main(path, gigabytes=4.0):
    sys.path.insert(0, str(ROOT))
    import distributed

    import irgraph
    from irgraph.data import load

    logging.getLogger("distributed").setLevel(logging.ERROR)
    start = time.perf_counter()
    rows, expected = write(path, gigabytes)
    wrote = time.perf_counter() - start
    prog = irgraph.compile((ROOT / "examples" / "linreg.eq").read_text(), wrt=["b", "w1", "w2"])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GB",
                                  dashboard_address=":0") as cluster, distributed.Client(cluster):
        start = time.perf_counter()
        res = prog.run({**load(str(path)), **PARAMS}, device="dask")
        computed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({
        "rows": rows, "bytes": rows * 3 * 8, "write_s": wrote, "compute_s": computed, "peak_rss": peak,
        "expected": expected,
        "got": {"value": float(res.value), "grads": {k: float(v) for k, v in res.grads.items()}},
    }))


if __name__ == "__main__":
    main(sys.argv[1], *map(float, sys.argv[2:]))
