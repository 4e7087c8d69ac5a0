"""passes/fuse.py: the kernels of every corpus model pass fuse.verify (IRGRAPH_VERIFY=1 runs it on every
fusion), and verify catches kernels that read too early, lose a value, or read an unfinished sum."""

import dataclasses
import importlib

import pytest
from cases import CASE_IDS, CASES

import irgraph
from irgraph.ir.shapes import infer_all
from passes.fuse import fuse, verify

W3 = "h = tanh(W1 @ X + b1)\nloss = mean((W2 @ h + b2 - Y)^2)"
W3_SHAPES = {"W1": (6, 3), "X": (3, 9), "b1": (6, 1), "W2": (1, 6), "b2": (1, 1), "Y": (1, 9)}


def fused(text, shapes, wrt=None):
    prog = irgraph.compile(text, wrt=wrt)
    known = {v: shapes[name] for name, v in prog.inputs}
    return fuse(prog, known), infer_all(prog, known)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_corpus_model_fuses_into_valid_kernels(case):
    prog, known = fused(case.text, case.shapes)
    verify(prog, known)
    assert [i for k in prog.kernels for i in k.instrs]  # something ran


def test_w3_products_with_a_size_one_axis_join_the_loops():
    prog, _ = fused(W3, W3_SHAPES, wrt=["W1", "b1", "W2", "b2"])
    assert [k.kind for k in prog.kernels].count("blas") == 2  # W1 @ X and its gradient g @ Xᵀ only
    loops = [k for k in prog.kernels if k.kind == "loop" and k.space == (6, 9)]
    assert {i.op for k in loops for i in k.instrs} >= {"tanh", "matmul", "mm_left", "mm_right"}


def test_verify_catches_a_kernel_that_reads_before_the_value_is_written():
    prog, known = fused(W3, W3_SHAPES)
    swapped = (prog.kernels[-1],) + prog.kernels[:-1]
    with pytest.raises(AssertionError, match="which no earlier kernel writes"):
        verify(dataclasses.replace(prog, kernels=swapped), known)


def test_verify_catches_a_value_that_never_leaves_its_kernel():
    prog, known = fused(W3, W3_SHAPES)
    k = next(k for k in prog.kernels if "h" in k.writes)
    lost = dataclasses.replace(k, writes=tuple(w for w in k.writes if w != "h"))
    kernels = tuple(lost if j is k else j for j in prog.kernels)
    with pytest.raises(AssertionError, match="does not write h"):
        verify(dataclasses.replace(prog, kernels=kernels), known)


def test_verify_catches_a_loop_that_reads_its_own_unfinished_sum():
    prog, known = fused("s = sum(x * x)\nloss = sum(x * s)", {"x": (5,)})
    loops = [k for k in prog.kernels if k.kind == "loop"]
    assert len(loops) == 2  # x * s waits for the sum: a second pass
    merged = dataclasses.replace(loops[0], instrs=loops[0].instrs + loops[1].instrs)
    kernels = tuple(merged if k is loops[0] else k for k in prog.kernels if k is not loops[1])
    with pytest.raises(AssertionError, match="reads the reduction"):
        verify(dataclasses.replace(prog, kernels=kernels), known)


def test_fuse_runs_verify_under_irgraph_verify(monkeypatch):
    calls = []
    monkeypatch.setattr(importlib.import_module("passes.fuse"), "verify", lambda *a: calls.append(a))
    monkeypatch.setenv("IRGRAPH_VERIFY", "1")
    fused("loss = sum(x * x)", {"x": (4,)})
    assert calls
