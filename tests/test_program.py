"""Program.verify: the flat instruction list is SSA, defines before it reads, and drops after last use."""

import dataclasses

import pytest

import irgraph
from irgraph.ir.program import Instr

MODEL = "a = x * y\nb = sin(a)\nloss = b * a"


def _with(program, index, **changes):
    instrs = list(program.instrs)
    instrs[index] = dataclasses.replace(instrs[index], **changes)
    return dataclasses.replace(program, instrs=tuple(instrs))


def test_a_compiled_program_verifies():
    prog = irgraph.compile(MODEL)
    assert prog.verify() is prog
    assert any(i.frees for i in prog.instrs)  # the check below has drops to look at


def test_reading_a_variable_before_it_is_defined_is_caught():
    prog = irgraph.compile(MODEL)
    first = prog.instrs[0]
    bad = _with(prog, 0, args=(prog.instrs[1].out,) + first.args[1:])
    with pytest.raises(AssertionError, match="not defined before"):
        bad.verify()


def test_assigning_a_variable_twice_is_caught():
    prog = irgraph.compile(MODEL)
    bad = _with(prog, 1, out=prog.instrs[0].out)
    with pytest.raises(AssertionError, match="second time"):
        bad.verify()


def test_dropping_a_variable_before_its_last_use_is_caught():
    prog = irgraph.compile(MODEL)
    a = prog.instrs[0].out  # a = x*y is read again later (b*a and the gradients)
    bad = _with(prog, 1, frees=(a,))
    with pytest.raises(AssertionError, match=f"drops {a}"):
        bad.verify()


def test_a_variable_never_dropped_is_caught():
    prog = irgraph.compile(MODEL)
    i = next(k for k, ins in enumerate(prog.instrs) if ins.frees)
    bad = _with(prog, i, frees=())
    with pytest.raises(AssertionError, match="not dropped after its last use"):
        bad.verify()


def test_an_unknown_op_is_caught():
    prog = irgraph.compile(MODEL)
    bad = dataclasses.replace(prog, instrs=prog.instrs + (Instr(out="z", op="frobnicate", args=(prog.output[1],)),))
    with pytest.raises(AssertionError, match="unknown op"):
        bad.verify()
