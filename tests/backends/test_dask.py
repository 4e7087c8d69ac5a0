"""The dask device: every corpus model gives NumPy's and JAX's value and gradients under several chunk
layouts (uneven chunks, chunks along reduced axes), from one dask.compute; memory-mapped .npy data,
scheduler errors that name the scheduler, and fit on Dask data."""

import json
import subprocess
import sys

import numpy as np
import pytest
from cases import CASE_IDS, CASES, EXAMPLES, ROOT, jax_namespace

import irgraph

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


def uneven(shape):
    """Blocks of sizes 1 and n-1 along every axis longer than 1: uneven chunks everywhere."""
    return tuple((1, n - 1) if n > 1 else (n,) for n in shape)


LAYOUTS = {
    "rows_of_3": lambda inputs: 3,  # along each array's batch axis; the last chunk is short
    "every_axis_in_2s": lambda inputs: {k: 2 for k, v in inputs.items() if np.ndim(v)},
    "uneven_every_axis": lambda inputs: {k: uneven(np.shape(v)) for k, v in inputs.items() if np.ndim(v)},
}


def jax_reference(case, inputs):
    F = jax_namespace()
    if F is None:
        return None
    import jax

    params = {k: np.asarray(inputs[k], dtype=np.float64) for k in case.wrt}
    data = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items() if k not in case.wrt}
    value, grads = jax.value_and_grad(lambda p: case.ref(F, {**data, **p}))(params)
    return float(value), {k: np.asarray(g) for k, g in grads.items()}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_corpus_on_dask_matches_numpy_and_jax(case, layout):
    prog = irgraph.compile(case.text, wrt=case.wrt, output=case.output)
    inputs = case.inputs(seed=3)
    res = prog.run(inputs, device="dask", chunks=LAYOUTS[layout](inputs))
    on_numpy = prog.run(inputs)
    assert res.device == "dask"
    np.testing.assert_allclose(res.value, on_numpy.value, rtol=1e-12, atol=1e-12)
    reference = jax_reference(case, inputs)
    if reference is not None:
        np.testing.assert_allclose(res.value, reference[0], rtol=1e-10, atol=1e-12)
    for name in case.wrt:
        got = res.grads[name]
        assert isinstance(got, (float, np.ndarray)) and np.shape(got) == np.shape(inputs[name]), name
        np.testing.assert_allclose(got, on_numpy.grads[name], rtol=1e-12, atol=1e-12, err_msg=name)
        if reference is not None:
            np.testing.assert_allclose(got, reference[1][name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_dask_inputs_are_used_as_they_are_and_results_are_numpy():
    rng = np.random.default_rng(0)
    data = {"x1": rng.normal(size=1000), "x2": rng.normal(size=1000), "y": rng.normal(size=1000)}
    lazy = {k: da.from_array(v, chunks=300) for k, v in data.items()}
    prog = irgraph.compile((EXAMPLES / "linreg.eq").read_text(), wrt=["b", "w1", "w2"])
    params = {"b": 0.1, "w1": np.float64(0.2), "w2": np.array(-0.3)}
    res = prog.run({**lazy, **params}, device="dask")
    expected = prog.run({**data, **params})
    assert isinstance(res.value, (float, np.floating, np.ndarray))
    np.testing.assert_allclose(res.value, expected.value, rtol=1e-12)
    for k in ("b", "w1", "w2"):
        np.testing.assert_allclose(res.grads[k], expected.grads[k], rtol=1e-12)


def test_value_and_gradients_come_from_one_compute(monkeypatch):
    import dask

    calls = []
    real = dask.compute
    monkeypatch.setattr(dask, "compute", lambda *a, **k: calls.append(len(a)) or real(*a, **k))
    prog = irgraph.compile((EXAMPLES / "mlp.eq").read_text(), wrt=["W1", "b1", "W2", "b2"])
    prog.run({k: np.asarray(v) for k, v in _example_inputs("mlp").items()}, device="dask", chunks=2)
    assert calls == [5]


def _example_inputs(name):
    return json.loads((EXAMPLES / f"{name}.json").read_text())["inputs"]


def test_large_numpy_inputs_are_chunked_along_the_batch_axis(monkeypatch):
    from irgraph.backends import dask as device

    monkeypatch.setattr(device, "THRESHOLD_BYTES", 8 * 100)
    monkeypatch.setattr(device, "CHUNK_BYTES", 8 * 30)
    out = device.as_dask({"X": np.ones((3, 500)), "Y": np.ones((1, 500)), "w": np.ones(3), "s": 2.0})
    assert out["X"].chunks == ((3,), (10,) * 50)  # 10 rows of X fill CHUNK_BYTES
    assert out["Y"].chunks == ((1,), (10,) * 50)  # the same rows, so the chunks line up
    assert isinstance(out["w"], np.ndarray) and out["s"] == 2.0  # the parameters stay whole
    small = device.as_dask({"X": np.ones((3, 10)), "Y": np.ones((1, 10))})
    assert all(isinstance(v, np.ndarray) for v in small.values())


def test_memory_mapped_npy_data(tmp_path):
    from irgraph.backends.dask import as_dask
    from irgraph.data import load

    rng = np.random.default_rng(1)
    data = {"x1": rng.normal(size=500), "x2": rng.normal(size=500), "y": rng.normal(size=500)}
    for k, v in data.items():
        np.save(tmp_path / f"{k}.npy", v)
    mapped = load(str(tmp_path))
    assert all(isinstance(v, np.memmap) for v in mapped.values())
    assert as_dask(mapped, chunks=128)["x1"].chunks == ((128, 128, 128, 116),)
    prog = irgraph.compile((EXAMPLES / "linreg.eq").read_text(), wrt=["w1"])
    params = {"b": 0.0, "w1": 1.0, "w2": -1.0}
    with distributed.Client(processes=False, dashboard_address=":0"):  # tasks pickle a path, not the data
        res = prog.run({**mapped, **params}, device="dask", chunks=128)
    np.testing.assert_allclose(res.grads["w1"], prog.run({**data, **params}).grads["w1"], rtol=1e-12)


def test_shape_errors_name_the_equation_as_on_numpy():
    prog = irgraph.compile("loss = sum(x * y)")
    with pytest.raises(irgraph.Error, match="line 1: loss = sum"):
        prog.run({"x": np.ones(4), "y": np.ones(3)}, device="dask", chunks=2)


def test_bad_chunks_are_errors():
    prog = irgraph.compile("loss = sum(x * x)")
    for chunks, fragment in [(0, "positive"), ("big", "chunks must be"), ({"x": (3, 3)}, "'x'")]:
        with pytest.raises(irgraph.Error, match=fragment):
            prog.run({"x": np.ones(4)}, device="dask", chunks=chunks)


def test_an_unreachable_scheduler_is_an_error_naming_it(monkeypatch):
    from irgraph.backends import dask as device
    from irgraph.backends.dask import connect

    monkeypatch.setattr(device, "CONNECT_TIMEOUT_S", 2)
    refused = pytest.raises(irgraph.Error, match=r"Dask scheduler at tcp://127\.0\.0\.1:9 .*running")
    with refused, connect(scheduler="tcp://127.0.0.1:9"):
        pass


def test_a_lost_scheduler_is_an_error_naming_it():
    import dask

    cluster = distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0")
    address = cluster.scheduler_address
    prog = irgraph.compile("loss = sum(x * x)")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), distributed.Client(address):
        assert prog.run({"x": da.ones(10, chunks=5)}, device="dask").value == 10.0
        cluster.close()  # the scheduler goes away under the connected client
        with pytest.raises(irgraph.Error, match=f"lost the connection to the Dask scheduler at {address}"):
            prog.run({"x": da.ones(10, chunks=5)}, device="dask")


# ---- fit on Dask data -------------------------------------------------------------------------------------

def linear_data(n=2000, seed=1):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return {"x1": x1, "x2": x2, "y": 1.5 + 2 * x1 - 3 * x2 + 0.1 * rng.normal(size=n)}


LINREG = (EXAMPLES / "linreg.eq").read_text()
FIT = {"init": "zeros", "shapes": "b=scalar,w1=scalar,w2=scalar", "lr": 0.1, "progress": False}


def test_fit_on_dask_takes_the_same_steps_as_on_numpy():
    data = linear_data()
    lazy = {k: da.from_array(v, chunks=300) for k, v in data.items()}  # uneven: the last chunk is 200 rows
    on_dask = irgraph.fit(LINREG, lazy, device="dask", steps=25, **FIT)
    on_numpy = irgraph.fit(LINREG, data, device="numpy", steps=25, **FIT)
    assert on_dask.device == "dask"
    np.testing.assert_allclose(on_dask.history["loss"], on_numpy.history["loss"], rtol=1e-10)
    for k, v in on_numpy.params.items():
        np.testing.assert_allclose(on_dask.params[k], v, rtol=1e-10)


def test_fit_on_dask_samples_whole_chunks_for_batches_and_the_validation_split():
    data = linear_data()
    kw = {"device": "dask", "chunks": 100, "steps": 40, "batch_size": 400, "val_split": 0.25, **FIT}
    a = irgraph.fit(LINREG, data, seed=3, **kw)
    b = irgraph.fit(LINREG, data, seed=3, **kw)
    np.testing.assert_array_equal(a.history["loss"], b.history["loss"])
    assert a.history["loss"][-1] < a.history["loss"][0] / 20 and a.val_loss < 0.1
    with pytest.raises(irgraph.Error, match="chunks"):
        irgraph.fit(LINREG, data, device="dask", steps=2, val_split=0.25, **FIT)  # one chunk: nothing to hold out


def test_cli_run_and_fit_on_a_local_cluster_from_zarr(tmp_path):
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(tmp_path / "data.zarr"), mode="w")
    for k, v in linear_data().items():
        group.create_array(k, shape=v.shape, chunks=(500,), dtype="f8")[:] = v
    command = [sys.executable, "-m", "irgraph"]
    model = str(EXAMPLES / "linreg.eq")
    fitted = subprocess.run([*command, "fit", model, "--data", "data.zarr", "--shape", FIT["shapes"], "--optimizer",
                             "sgd", "--lr", "0.3", "--steps", "15", "--device", "dask", "--workers", "2", "-o",
                             "learned.json"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert fitted.returncode == 0, fitted.stderr
    learned = json.loads((tmp_path / "learned.json").read_text())
    assert learned == pytest.approx({"b": 1.5, "w1": 2.0, "w2": -3.0}, abs=0.05)
    ran = subprocess.run([*command, "run", model, "--inputs", "data.zarr", "--inputs", "learned.json", "--device",
                          "dask", "--workers", "1", "--wrt", "b,w1,w2", "--json"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr
    on_numpy = subprocess.run([*command, "run", model, "--inputs", "data.zarr", "--inputs", "learned.json",
                               "--wrt", "b,w1,w2", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    got, expected = json.loads(ran.stdout), json.loads(on_numpy.stdout)
    assert got["value"] == pytest.approx(expected["value"], rel=1e-12)
    assert got["grads"] == pytest.approx(expected["grads"], rel=1e-9, abs=1e-15)


def test_cli_names_an_unreachable_scheduler(monkeypatch, capsys):
    from irgraph.backends import dask as device
    from irgraph.cli import main

    monkeypatch.setattr(device, "CONNECT_TIMEOUT_S", 1)
    code = main(["run", str(EXAMPLES / "linear.eq"), "--device", "dask", "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "error: could not connect to the Dask scheduler at tcp://127.0.0.1:9" in err


# ---- out of core ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_4_gb_zarr_gradient_on_two_1_gb_workers(tmp_path):
    """The data are four times one worker's memory_limit; the driving process stays under 1 GB."""
    pytest.importorskip("zarr")
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "backends" / "out_of_core.py"),
                           str(tmp_path / "big.zarr"), "4"], capture_output=True, text=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["bytes"] >= 4 * 10**9
    assert report["peak_rss"] < 2**30
    assert report["got"]["value"] == pytest.approx(report["expected"]["value"], rel=1e-9)
    assert report["got"]["grads"] == pytest.approx(report["expected"]["grads"], rel=1e-9)


def test_value_and_grad_on_dask():
    rng = np.random.default_rng(2)
    data = {"X": rng.normal(size=(500, 3)), "y": (rng.uniform(size=500) < 0.5).astype(float)}
    params = {"w": np.array([0.3, -0.2, 0.1]), "b": 0.05}
    f = irgraph.value_and_grad((EXAMPLES / "logistic.eq").read_text(),
                               wrt=["w", "b"], device="dask", chunks=128)
    value, grads = f({**data, **params})
    expected = irgraph.compile((EXAMPLES / "logistic.eq").read_text(), wrt=["w", "b"]).run({**data, **params})
    assert value == pytest.approx(expected.value, rel=1e-12)
    for k in ("w", "b"):
        np.testing.assert_allclose(grads[k], expected.grads[k], rtol=1e-12)
    lazy = {k: da.from_array(v, chunks=100) for k, v in data.items()}
    assert irgraph.grad((EXAMPLES / "logistic.eq").read_text(), wrt=["w"], device="dask")({**lazy, **params})["w"] \
        == pytest.approx(expected.grads["w"], rel=1e-12)
