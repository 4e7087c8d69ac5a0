"""The interactive graph: one self-contained HTML file (no network, scripts inline) with the SVG of every
stage in tabs (forward / backward / program), pan and zoom, and on the forward graph: click a node to
colour every path from the output back to it and read the chain rule along them with numbers; hover an
edge to read its full partial and its value. Jupyter shows the same page.
"""

import html
import json
import re
import warnings

import passes
from irgraph.ir.errors import Error

from . import chain, compiled, forward, style
from . import values as V
from .caption import caption
from .names import Names
from .scene import emit

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: {font}; margin: 0; color: #222; }}
header {{ padding: 8px 12px; border-bottom: 1px solid #ddd; display: flex; gap: 6px; align-items: center; }}
header b {{ margin-right: 12px; }}
button.tab {{ border: 1px solid #bbb; background: #f6f6f6; padding: 4px 12px; border-radius: 4px; cursor: pointer; }}
button.tab.on {{ background: #4a6fa5; color: white; border-color: #4a6fa5; }}
.stage {{ display: none; position: relative; overflow: hidden; height: calc(100vh - 150px); cursor: grab; }}
.stage.on {{ display: block; }}
.stage > div {{ transform-origin: 0 0; }}
#caption {{ white-space: pre-wrap; font-size: 15px; padding: 8px 12px; border-top: 1px solid #ddd;
           color: {highlight}; min-height: 3em; }}
#tip {{ position: fixed; display: none; background: #fffff0; border: 1px solid #aaa; padding: 4px 8px;
       font-size: 13px; pointer-events: none; max-width: 60em; white-space: pre-wrap; }}
g.edge.hl path {{ stroke: {highlight}; stroke-width: 3; }}
g.edge.hl polygon {{ stroke: {highlight}; fill: {highlight}; }}
g.node.picked > ellipse, g.node.picked > path, g.node.picked > polygon {{ stroke: {highlight}; stroke-width: 3; }}
.stage g.node {{ cursor: pointer; }}
</style></head><body>
<header><b>{title}</b>{tabs}<span style="margin-left:auto;color:#777">click a node · hover an edge ·
wheel to zoom · drag to pan</span></header>
{stages}
<div id="caption">{hint}</div>
<div id="tip"></div>
<script id="data" type="application/json">{data}</script>
<script>
(function () {{
  const data = JSON.parse(document.getElementById("data").textContent);
  const caption = document.getElementById("caption"), tip = document.getElementById("tip");
  document.querySelectorAll("button.tab").forEach(function (b) {{
    b.addEventListener("click", function () {{
      document.querySelectorAll("button.tab, .stage").forEach(function (e) {{ e.classList.remove("on"); }});
      b.classList.add("on");
      document.getElementById(b.dataset.stage).classList.add("on");
    }});
  }});
  // Pan and zoom: a CSS transform on the SVG's box.
  document.querySelectorAll(".stage").forEach(function (stage) {{
    const box = stage.firstElementChild;
    let s = 1, x = 0, y = 0, drag = null;
    function apply() {{ box.style.transform = "translate(" + x + "px," + y + "px) scale(" + s + ")"; }}
    stage.addEventListener("wheel", function (ev) {{
      ev.preventDefault();
      const r = stage.getBoundingClientRect(), k = ev.deltaY < 0 ? 1.15 : 1 / 1.15;
      const px = ev.clientX - r.left, py = ev.clientY - r.top;
      x = px - (px - x) * k; y = py - (py - y) * k; s *= k; apply();
    }}, {{passive: false}});
    stage.addEventListener("mousedown", function (ev) {{ drag = [ev.clientX - x, ev.clientY - y]; }});
    window.addEventListener("mouseup", function () {{ drag = null; }});
    window.addEventListener("mousemove", function (ev) {{
      if (drag) {{ x = ev.clientX - drag[0]; y = ev.clientY - drag[1]; apply(); }}
    }});
  }});
  // Click a node of the forward graph: every path from the output back to it, and the chain rule.
  Object.keys(data.nodes).forEach(function (id) {{
    const g = document.getElementById(id);
    if (!g) return;
    g.addEventListener("click", function (ev) {{
      ev.stopPropagation();
      const name = data.nodes[id];
      document.querySelectorAll("g.edge.hl").forEach(function (e) {{ e.classList.remove("hl"); }});
      document.querySelectorAll("g.node.picked").forEach(function (e) {{ e.classList.remove("picked"); }});
      g.classList.add("picked");
      (data.paths[name] || []).forEach(function (eid) {{
        const e = document.getElementById(eid);
        if (e) e.classList.add("hl");
      }});
      caption.textContent = data.captions[name] || "";
    }});
  }});
  if (data.start) {{
    const first = Object.keys(data.nodes).find(function (id) {{ return data.nodes[id] === data.start; }});
    if (first) document.getElementById(first).dispatchEvent(new MouseEvent("click"));
  }}
  // Hover an edge: its full partial and its value.
  Object.keys(data.edges).forEach(function (id) {{
    const e = document.getElementById(id);
    if (!e) return;
    e.addEventListener("mousemove", function (ev) {{
      tip.textContent = data.edges[id].text;
      tip.style.display = "block";
      tip.style.left = (ev.clientX + 14) + "px"; tip.style.top = (ev.clientY + 14) + "px";
    }});
    e.addEventListener("mouseleave", function () {{ tip.style.display = "none"; }});
  }});
}})();
</script></body></html>
"""

STAGE_TITLES = {"forward": "forward", "backward": "backward", "program": "program"}


def page(graph, svg, wrt=None, inputs=None, result=None, highlight=None, title=None):
    """The interactive page of an op-level Graph as an HTML string.

    svg(digraph) -> SVG text (render passes its Graphviz call, so errors read the same everywhere).
    highlight: a name whose paths and caption are shown when the page opens.
    """
    if graph.level != "op":
        raise Error("the interactive page draws every stage: give the op-level graph from irgraph.parse")
    out = graph.outputs[0]
    eq = graph.equations()
    names = Names(eq.names(), out)
    numbers = V.forward_numbers(graph, out, wrt, result, inputs)
    scene = forward.equation_scene(eq, wrt, None, numbers)
    drawn = [n for n in scene.nodes if n in eq.nx]
    data = {"nodes": {}, "paths": {}, "captions": {}, "edges": {}}
    edge_ids = {}
    for i, (u, v, e) in enumerate(scene.edges):
        eid = f"f-e{i}"
        edge_ids.setdefault((u, v), []).append(eid)
        data["edges"][eid] = {"u": u, "v": v, "text": e["tooltip"] or ""}
    for n in drawn:
        data["nodes"][f"f-n-{n}"] = n
        data["paths"][n] = [eid for u, v, _ in chain.path_edges(eq, out, n) for eid in edge_ids.get((u, v), ())]
        data["captions"][n] = "\n".join(t for t, _ in caption(eq, out, n, names, numbers))
    stages = {"forward": _svg(svg(emit(scene, prefix="f-")))}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = passes.compile_program(graph, wrt)
            for stage, prefix in (("backward", "b-"), ("program", "p-")):
                s = compiled.compiled_scene(program, stage, None, result, inputs, eq=eq)
                stages[stage] = _svg(svg(emit(s, prefix=prefix)))
    except Error as e:  # e.g. a vector output: there is no gradient program to draw
        for stage in ("backward", "program"):
            stages.setdefault(stage, f"<p style='padding:1em'>{html.escape(str(e))}</p>")
    tabs = "".join(f'<button class="tab{" on" if s == "forward" else ""}" data-stage="stage-{s}">'
                   f"{STAGE_TITLES[s]}</button>" for s in stages)
    body = "".join(f'<div class="stage{" on" if s == "forward" else ""}" id="stage-{s}"><div>{svg_text}</div></div>'
                   for s, svg_text in stages.items())
    data["start"] = highlight if highlight in data["paths"] else None
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")  # never ends the script element early
    return _PAGE.format(title=html.escape(title or "irgraph"), font=style.FONT, highlight=style.HIGHLIGHT,
                        tabs=tabs, stages=body, data=text,
                        hint="Click a node to see every path from the output to it and the chain rule along them.")


def _svg(text):
    """An SVG document as an element to inline: without its XML prolog and doctype."""
    return re.sub(r"^.*?(?=<svg)", "", text, count=1, flags=re.DOTALL)
