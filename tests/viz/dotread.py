"""Read back the pictures the tests make: the DOT source (a small parser for what the graphviz package
writes: one statement per line) and the SVG that `dot` draws (xml.etree). No pixels are compared."""

import html
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pytest

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's `dot` is not installed (make dot)")


@dataclass
class Dot:
    graph: dict = field(default_factory=dict)  # graph attributes (the caption is graph["label"])
    nodes: dict = field(default_factory=dict)  # id -> attributes
    edges: list = field(default_factory=list)  # (tail, head, attributes)
    clusters: dict = field(default_factory=dict)  # cluster name -> [node ids]

    def text(self, node):
        """A node's label as plain text, lines joined by newlines."""
        return plain(self.nodes[node].get("label", node))

    def edge(self, u, v):
        found = [a for t, h, a in self.edges if (t, h) == (u, v)]
        assert found, f"no edge {u} -> {v}"
        return found[0]

    def coloured(self, colour):
        """Every edge drawn in `colour`, as (tail, head) pairs."""
        return [(t, h) for t, h, a in self.edges if a.get("color") == colour]

    def caption(self):
        return plain(self.graph.get("label", ""))


def plain(label):
    """An HTML-like label (or a plain one) as text: <BR/> and table rows become newlines, tags go, entities
    decode."""
    if label.startswith("<") and label.endswith(">"):
        label = label[1:-1]
        label = re.sub(r"<BR[^>]*>|</TR>", "\n", label, flags=re.IGNORECASE)  # a line break or a table row
        label = re.sub(r"<[^>]+>", "", label)
        return html.unescape(label).strip()
    return label.replace("\\l", "\n").replace("\\n", "\n").strip()


def _value(text, i):
    """Read one ID at text[i:]: a quoted string, an HTML string <...> (nested), or a bare word."""
    if text[i] == '"':
        m = re.compile(r'"((?:[^"\\]|\\.)*)"').match(text, i)
        return m.group(1).replace('\\"', '"'), m.end()
    if text[i] == "<":
        depth, j = 0, i
        while True:
            if text[j] == "<":
                depth += 1
            elif text[j] == ">":
                depth -= 1
                if depth == 0:
                    return text[i:j + 1], j + 1
            j += 1
    m = re.compile(r"[^\s\[\]=;,]+").match(text, i)
    return m.group(0), m.end()


def _attrs(text, i):
    """Read `[k=v k=v ...]` starting at text[i] == '['."""
    attrs = {}
    i += 1
    while True:
        while text[i] in " \t\n,;":
            i += 1
        if text[i] == "]":
            return attrs, i + 1
        key, i = _value(text, i)
        assert text[i] == "=", text[i:i + 20]
        val, i = _value(text, i + 1)
        attrs[key] = val


def read_dot(source):
    """Parse the DOT text the graphviz package writes."""
    dot = Dot()
    cluster = None
    i, n = 0, len(source)
    while i < n:
        while i < n and source[i] in " \t\n;":
            i += 1
        if i >= n:
            break
        if source.startswith("digraph", i) or source.startswith("}", i):
            if source.startswith("}", i):
                cluster = None
            i = source.index("\n", i) + 1 if "\n" in source[i:] else n
            continue
        if source.startswith("subgraph", i):
            name, i = _value(source, i + len("subgraph "))
            cluster = name
            dot.clusters[name] = []
            i = source.index("{", i) + 1
            continue
        first, i = _value(source, i)
        while source[i] == " ":
            i += 1
        if first in ("graph", "node", "edge") and source[i] == "[":
            attrs, i = _attrs(source, i)
            if first == "graph" and cluster is None:
                dot.graph.update(attrs)
            continue
        if source.startswith("->", i):
            second, i = _value(source, i + 3)
            attrs = {}
            while i < n and source[i] == " ":
                i += 1
            if i < n and source[i] == "[":
                attrs, i = _attrs(source, i)
            dot.edges.append((first, second, attrs))
            continue
        if source[i] == "=":  # a bare graph attribute: label=<...> at the top level
            val, i = _value(source, i + 1)
            if cluster is None:
                dot.graph[first] = val
            continue
        attrs = {}
        if source[i] == "[":
            attrs, i = _attrs(source, i)
        dot.nodes[first] = attrs
        if cluster is not None:
            dot.clusters[cluster].append(first)
    return dot


def read_svg(path_or_text):
    """{node title: text}, [(tail, head, stroke colour)] and the caption text from an SVG drawn by dot."""
    if path_or_text.lstrip().startswith("<"):
        text = path_or_text
    else:
        with open(path_or_text, encoding="utf-8") as f:
            text = f.read()
    root = ET.fromstring(text)
    ns = {"s": "http://www.w3.org/2000/svg"}
    nodes, edges = {}, []
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        cls = g.get("class")
        title = g.find("s:title", ns)
        if cls == "node":
            nodes[title.text] = "\n".join(t.text or "" for t in g.iter("{http://www.w3.org/2000/svg}text"))
        elif cls == "edge":
            tail, head = title.text.split("->")
            path = next(g.iter("{http://www.w3.org/2000/svg}path"))  # inside an <a> when it has a tooltip
            edges.append((tail, head, path.get("stroke")))
    graph = root.find("s:g", ns)
    caption = "\n".join(t.text or "" for t in graph.findall("s:text", ns))
    return nodes, edges, caption
