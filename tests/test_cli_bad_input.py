"""Bad files and arguments through the real `irgraph` command: each is one line naming the problem, exit 1.

Every case runs the installed command in a subprocess and checks: exit status 1, exactly one line on
stderr, that line names what is wrong (a file name or the value at fault), no traceback, no "internal
error", and no output file left behind (not even a partial one).
"""

import io
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
IRGRAPH = pathlib.Path(sys.executable).with_name("irgraph")  # the console script installed next to python
LINEAR = str(ROOT / "examples" / "linear.eq")
MODEL = "a1 = w1 * x1\nloss = (a1 - y)^2\n"


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _deep(n):
    return "[" * n + "1" + "]" * n


# name -> {file name: bytes or text} to create, the arguments, and a text the one-line message must contain.
# "OUT" in the arguments is the output file that must not exist afterwards; "M" is the model file.
CASES = {
    "corrupt npz": ({"bad.npz": b"PK\x03\x04 not really a zip file"}, ["run", "M", "--inputs", "bad.npz"], "bad.npz"),
    "empty npz": ({"empty.npz": b""}, ["run", "M", "--inputs", "empty.npz"], "empty.npz"),
    "truncated npz": ({"cut.npz": _npz_bytes(x1=np.ones(100))[:200]}, ["run", "M", "--inputs", "cut.npz"], "cut.npz"),
    "pickled npz": ({"obj.npz": _npz_bytes(x1=np.array([{"a": 1}], dtype=object))},
                    ["run", "M", "--inputs", "obj.npz"], "obj.npz"),
    "npz of strings": ({"s.npz": _npz_bytes(x1=np.array(["a", "b"]))}, ["run", "M", "--inputs", "s.npz"], "x1"),
    "npz of complex numbers": ({"c.npz": _npz_bytes(x1=np.array([1j]))}, ["run", "M", "--inputs", "c.npz"], "x1"),
    "corrupt npy": ({"x1.npy": b"\x93NUMPY garbage"}, ["run", "M", "--inputs", "x1.npy"], "x1.npy"),
    "empty npy": ({"x1.npy": b""}, ["run", "M", "--inputs", "x1.npy"], "x1.npy"),
    "latin-1 json": ({"in.json": '{"x1": 1, "café": 2}'.encode("latin-1")}, ["run", "M", "--inputs", "in.json"],
                     "in.json"),
    "deeply nested json": ({"deep.json": '{"x1": ' + _deep(100_000) + "}"}, ["run", "M", "--inputs", "deep.json"],
                           "deep.json"),
    "deeply nested --set": ({}, ["run", "M", "--set", "x1=" + _deep(20_000)], "x1"),
    "json that is a list": ({"l.json": "[1, 2]"}, ["run", "M", "--inputs", "l.json"], "l.json"),
    "json string value": ({"s.json": '{"x1": "one"}'}, ["run", "M", "--inputs", "s.json"], "x1"),
    "ragged --set": ({}, ["run", "M", "--set", "x1=[[1, 2], [3]]"], "x1"),
    "--set not a number": ({}, ["run", "M", "--set", "x1=abc"], "x1"),
    "--set without =": ({}, ["run", "M", "--set", "x1"], "x1"),
    "missing inputs file": ({}, ["run", "M", "--inputs", "nowhere.json"], "nowhere.json"),
    "unknown inputs format": ({"in.txt": "x1 = 1"}, ["run", "M", "--inputs", "in.txt"], "in.txt"),
    "latin-1 model": ({"m.eq": "loss = caf\xe9 * 2\n".encode("latin-1")}, ["compile", "m.eq"], "m.eq"),
    "missing model": ({}, ["compile", "nowhere.eq"], "nowhere.eq"),
    "model is a folder": ({"folder/x.eq": "loss = x"}, ["compile", "folder"], "folder"),
    "empty model": ({"e.eq": ""}, ["compile", "e.eq"], "empty model"),
    "model with a NUL byte": ({"n.eq": "loss = x\x00 * 2\n"}, ["compile", "n.eq"], "n.eq"),
    "lookalike digit": ({"d.eq": "loss = x * \u09ea\n"}, ["compile", "d.eq"], "\u09ea"),
    "fullwidth digit": ({"d.eq": "loss = x * \uff13\n"}, ["compile", "d.eq"], "\uff13"),
    "compile --wrt an equation": ({}, ["compile", "M", "--wrt", "a1"], "a1"),
    "--output names an input": ({}, ["compile", "M", "--output", "x1"], "x1"),
    "render --wrt an equation": ({}, ["render", "M", "--wrt", "a1", "-o", "OUT.svg"], "a1"),
    "explain an unknown name": ({}, ["explain", "M", "--wrt", "nope"], "nope"),
    "compile over its own model": ({}, ["compile", "M", "-o", "M"], "M"),
    "render to a full disk": ({}, ["render", "M", "-o", "/dev/full"], "/dev/full"),
    "compile to a full disk": ({}, ["compile", "M", "-o", "/dev/full"], "/dev/full"),
    "compile into a missing folder": ({}, ["compile", "M", "-o", "no/such/OUT.py"], "no/such"),
    "failed compile leaves no file": ({"bad.eq": "loss = (x"}, ["compile", "bad.eq", "-o", "OUT.py"], "bad.eq"),
    "failed render leaves no file": ({}, ["render", "M", "--set", "x1=abc", "-o", "OUT.svg"], "x1"),
    "render with an unknown suffix": ({}, ["render", "M", "-o", "OUT.bmp"], "bmp"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_input_is_one_line_and_exit_1(name, tmp_path):
    files, argv, expected = CASES[name]
    (tmp_path / "model.eq").write_text(MODEL)
    for file, content in files.items():
        path = tmp_path / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    argv = ["model.eq" if a == "M" else a for a in argv]
    expected = "model.eq" if expected == "M" else expected
    before = sorted(p.name for p in tmp_path.rglob("*"))
    proc = subprocess.run([str(IRGRAPH), *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert "error: " in lines[0] and expected in lines[0], proc.stderr
    # One line; a problem in the model text adds the line itself and a caret under the column.
    assert len(lines) == 1 or (len(lines) == 3 and lines[2].strip() == "^"), proc.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "a file was left behind"
    assert (tmp_path / "model.eq").read_text() == MODEL, "the model was overwritten"


def test_no_arguments_print_the_usage_and_the_commands():
    proc = subprocess.run([str(IRGRAPH)], capture_output=True, text=True, timeout=60, check=False)
    out = proc.stdout + proc.stderr
    assert "usage: irgraph" in out
    for command in ("compile", "run", "render", "explain"):
        assert command in out
    assert "Traceback" not in out


def test_compile_dash_o_dash_writes_to_standard_output(tmp_path):
    (tmp_path / "model.eq").write_text(MODEL)
    proc = subprocess.run([str(IRGRAPH), "compile", "model.eq", "-o", "-"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "def value_and_grad(inputs, xp=None):" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.eq"]


def test_a_written_file_is_complete_and_replaces_the_old_one(tmp_path):
    (tmp_path / "model.eq").write_text(MODEL)
    (tmp_path / "grad.py").write_text("old")
    proc = subprocess.run([str(IRGRAPH), "compile", "model.eq", "-o", "grad.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "grad.py").read_text().startswith('"""Gradient program generated by irgraph')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grad.py", "model.eq"]  # no temporary left


def test_a_zip_that_is_not_an_npz_names_the_member(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as z:
        z.writestr("x1.npy", b"not an array")
    (tmp_path / "model.eq").write_text(MODEL)
    proc = subprocess.run([str(IRGRAPH), "run", "model.eq", "--inputs", "z.npz"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and "z.npz" in proc.stderr and "internal error" not in proc.stderr, proc.stderr
