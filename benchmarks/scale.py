"""Time and peak memory of every CLI command on 10^5-equation models (issue 11: each within 4 GB).

Not part of the test suite. Each command runs as its own `irgraph` process; its peak resident memory is
that child's ru_maxrss (os.wait4), its time the wall clock around it, with the load average beside it.

    python benchmarks/scale.py [--n 100000] [--only chain,fanin] [--commands compile,run,render,explain]
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from run import chain_model  # the W4 chain: y_{k+1} = sin(y_k)*y_k + w_k

LIMIT_GB = 4.0
IRGRAPH = [sys.executable, "-m", "irgraph"]


def models(n):
    """{name: (text, inputs, the input explain and render highlight)}: a chain and a fan-in, n equations/inputs."""
    chain_inputs = {"y0": 0.5, **{f"w{k}": 0.01 for k in range(n)}}
    fanin = "loss = " + " + ".join(f"x{i}" for i in range(1, n + 1)) + "\n"
    return {
        "chain": (chain_model(n) + "\n", chain_inputs, "w7"),
        "fanin": (fanin, {f"x{i}": 1.0 for i in range(1, n + 1)}, "x7"),
    }


def commands(model, inputs, target, tmp):
    return {
        "compile": ["compile", model, "-o", str(tmp / "grad.py")],
        "run": ["run", model, "--inputs", inputs],
        "render": ["render", model, "--highlight", target, "-o", str(tmp / "picture.svg")],
        "explain": ["explain", model, "--wrt", target],
    }


def measure(argv):
    """(seconds, peak RSS in GB, exit status, last line of stderr) of one irgraph process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(IRGRAPH + argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
    return seconds, usage.ru_maxrss / 1e6, os.waitstatus_to_exitcode(status), (tail or [""])[0]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000, help="equations in the chain, inputs in the fan-in")
    p.add_argument("--only", default="chain,fanin")
    p.add_argument("--commands", default="compile,run,render,explain")
    args = p.parse_args(argv)
    failed = False
    print(f"n = {args.n:,}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    print(f"{'model':6} {'command':8} {'time':>9} {'peak RSS':>9} {'load':>5}  result", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for name, (text, inputs, target) in models(args.n).items():
            if name not in args.only.split(","):
                continue
            model, values = tmp / f"{name}.eq", tmp / f"{name}.json"
            model.write_text(text)
            values.write_text(json.dumps(inputs))
            for cmd, argv_ in commands(str(model), str(values), target, tmp).items():
                if cmd not in args.commands.split(","):
                    continue
                seconds, gb, code, tail = measure(argv_)
                bad = code != 0 or gb > LIMIT_GB
                failed |= bad
                verdict = f"exit {code}: {tail}" if code else ("OVER 4 GB" if gb > LIMIT_GB else "ok")
                print(f"{name:6} {cmd:8} {seconds:8.1f}s {gb:8.2f}G {os.getloadavg()[0]:5.1f}  {verdict}",
                      flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
