"""Pictures fit a page: every example, a 60-equation chain and a 4-layer MLP, at every stage, are at most
4,000 px wide at Graphviz's default 72 dpi, and no two labels overlap. Checked on Graphviz's own layout
(`dot -Tjson`: the bounding box and where each text is drawn), not by eye."""

import json
import pathlib
import re
import subprocess
from itertools import combinations

import pytest
from dotread import needs_dot

import irgraph
import viz

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.eq"))
CHAIN = "\n".join(["h0 = w0 * x"] + [f"h{i} = sin(w{i} * h{i - 1} + b)" for i in range(1, 60)] + ["loss = h59^2"])
MLP4 = """h1 = tanh(W1 @ X + b1)
h2 = tanh(W2 @ h1 + b2)
h3 = tanh(W3 @ h2 + b3)
yhat = W4 @ h3 + b4
loss = mean((yhat - Y)^2)
"""
MODELS = {name: (ROOT / "examples" / f"{name}.eq").read_text() for name in EXAMPLES} | {"chain60": CHAIN,
                                                                                       "mlp4": MLP4}
STAGES = {"forward": {}, "ops": {"ops": True}, "backward": {"stage": "backward"}, "program": {"stage": "program"}}


def layout(model, **options):
    """Graphviz's layout of a picture, as its JSON."""
    source = viz.to_digraph(irgraph.parse(model), **options).source
    done = subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True, check=True)
    return json.loads(done.stdout)


def text_boxes(drawing):
    """(owner, x0, y0, x1, y1) for every text Graphviz draws: node labels, edge labels, the caption."""
    boxes = []
    for kind in ("objects", "edges"):
        for i, obj in enumerate(drawing.get(kind, ())):
            for key in ("_ldraw_", "_hldraw_", "_tldraw_"):
                size = 14.0
                for op in obj.get(key, ()):
                    if op["op"] == "F":
                        size = op["size"]
                    elif op["op"] == "T":
                        (x, y), w = op["pt"], op["width"]
                        left = {"l": x, "c": x - w / 2, "r": x - w}[op["align"]]
                        boxes.append(((kind, i), left, y - 0.2 * size, left + w, y + 0.8 * size))
    for op in drawing.get("_ldraw_", ()):  # the caption
        if op["op"] == "F":
            size = op["size"]
        elif op["op"] == "T":
            (x, y), w = op["pt"], op["width"]
            left = {"l": x, "c": x - w / 2, "r": x - w}[op["align"]]
            boxes.append((("caption", 0), left, y - 0.2 * size, left + w, y + 0.8 * size))
    return boxes


def overlaps(boxes, slack=0.5):
    found = []
    for a, b in combinations(boxes, 2):
        if a[0] == b[0]:
            continue  # the lines of one label
        if a[1] < b[3] - slack and b[1] < a[3] - slack and a[2] < b[4] - slack and b[2] < a[4] - slack:
            found.append((a, b))
    return found


CASES = [(name, stage) for name in MODELS for stage in STAGES
         if (name, stage) != ("chain60", "ops")]  # 180 op nodes with labels: dot alone takes minutes


@needs_dot
@pytest.mark.parametrize("name, stage", CASES)
def test_every_picture_fits_4000_px_and_no_labels_overlap(name, stage, tmp_path):
    drawing = layout(MODELS[name], **STAGES[stage])
    assert not overlaps(text_boxes(drawing)), f"{name} {stage}: labels overlap"
    svg = pathlib.Path(viz.render(irgraph.parse(MODELS[name]), tmp_path / "p.svg", **STAGES[stage])).read_text()
    width = float(re.search(r'<svg width="([0-9.]+)pt"', svg).group(1))  # 1 pt = 1 px at 72 dpi
    assert width <= 4000, f"{name} {stage}: {width:.0f} px wide"


@needs_dot
def test_long_chains_run_top_to_bottom_and_short_models_left_to_right():
    assert layout(CHAIN)["rankdir"] == "TB"
    assert layout((ROOT / "examples" / "linear.eq").read_text())["rankdir"] == "LR"


def test_graphviz_warnings_become_notes(tmp_path, monkeypatch):
    script = tmp_path / "dot"
    script.write_text("#!/bin/sh\n/bin/cat >/dev/null\necho 'Warning: something to say' >&2\necho '<svg/>'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.warns(UserWarning, match="Graphviz: Warning: something to say"):
        viz.render(irgraph.parse("loss = w*x\n"), tmp_path / "out.svg")
