"""Render time of large models (issue 4: "a 10,000-node model renders to SVG in seconds").

Not part of the test suite, which checks what is drawn, never how fast: python benchmarks/render.py [--ops N]
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from run import chain_model  # the W4 chain: three operations a level

import irgraph
import viz


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ops", type=int, default=10_000, help="operations in the model (default 10,000)")
    args = p.parse_args(argv)
    model = chain_model(max(1, args.ops // 3))
    graph = irgraph.parse(model)
    print(f"model: {graph.nx.number_of_nodes()} op-level nodes; load average {os.getloadavg()[0]:.2f}")
    cases = [("equation level, default", {}), ("with --highlight w1", {"highlight": "w1"}),
             ("op level (--ops)", {"ops": True}), ("backward stage (compiles first)", {"stage": "backward"})]
    with tempfile.TemporaryDirectory() as tmp:
        for title, options in cases:
            start = time.perf_counter()
            viz.render(graph, pathlib.Path(tmp) / "big.svg", **options)
            print(f"  {title:36s} {time.perf_counter() - start:7.2f} s")


if __name__ == "__main__":
    main()
