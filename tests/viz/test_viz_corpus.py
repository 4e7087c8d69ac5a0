"""Every model of the shared corpus (tests/cases.py), drawn at every stage: nothing fails, the highlighted
edges are exactly the paths networkx finds, and the gradients a picture shows agree with finite
differences of the case's own NumPy transcription."""

from itertools import pairwise

import networkx as nx
import numpy as np
import pytest
from cases import CASE_IDS, CASES, NP, finite_differences
from dotread import plain, read_dot

import irgraph
import viz
from viz import style
from viz.values import forward_numbers

STAGES = [{}, {"ops": True}, {"stage": "backward"}, {"stage": "program"}]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_stage_draws_with_values_and_each_highlight(case):
    graph = irgraph.parse(case.text, output=case.output)
    inputs = case.inputs()
    result = irgraph.compile(graph, wrt=case.wrt).run(inputs)
    eq = graph.equations().nx
    out = graph.outputs[0]
    for options in STAGES:
        for name in case.wrt:
            dot = read_dot(viz.to_digraph(graph, highlight=name, values=result, inputs=inputs, wrt=case.wrt,
                                          **options).source)
            assert dot.nodes
            if not options:  # the equation level: the path is the reference's, edge for edge
                ref = {(u, v) for p in nx.all_simple_paths(eq, name, out) for u, v in pairwise(p)}
                assert set(dot.coloured(style.HIGHLIGHT)) == ref
                assert plain(dot.graph["label"]).startswith(f"∂{'L' if out == 'loss' else out}/∂")


@pytest.mark.parametrize("case", [c for c in CASES if c.fd], ids=[c.name for c in CASES if c.fd])
def test_drawn_gradients_match_finite_differences(case):
    graph = irgraph.parse(case.text, output=case.output)
    inputs = case.inputs()
    expected = finite_differences(lambda v: case.ref(NP, v), inputs, case.wrt)
    out = graph.outputs[0]
    numbers = forward_numbers(graph, out, case.wrt, None, inputs)
    for name in case.wrt:
        got = numbers.grad.get(name, np.zeros_like(expected[name]))
        np.testing.assert_allclose(got, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
