"""Every colour, shape and size the pictures use, in one place.

Nodes and edges get a *kind* (see NODE and EDGE); render.py never spells a colour itself.
The highlight colour is used by highlighted edges only, so "the red edges" always means the backprop path.
"""

FONT = "DejaVu Sans,Helvetica,Arial,sans-serif"  # has ∂, subscripts and ŷ; viewers fall back in order
MONO = "DejaVu Sans Mono,Menlo,Consolas,monospace"

HIGHLIGHT = "#d62728"  # backprop path: only highlighted edges use it
EDGE = "#5b5b5b"
EDGE_LABEL = "#2f2f2f"
FAINT = "#a0a0a0"
VALUE = "#1b7837"  # forward values, green
GRAD = "#8e0152"  # gradients (adjoints), wine: close to the path's red in meaning, not in colour
SHARED = "#b35806"  # "used ×3" marks on values computed once and used many times
MUTED = "#6b6b6b"

GRAPH = {
    "rankdir": "LR",
    "fontname": FONT,
    "fontsize": "13",
    "nodesep": "0.35",
    "ranksep": "0.7",
    "bgcolor": "white",
    "pad": "0.25",
    "labeljust": "l",
    "labelloc": "b",
    "newrank": "true",
    "outputorder": "edgesfirst",
}
SMALL_FORWARD = {"ordering": "in"}  # operands top to bottom in the order the equations use them
LARGE_GRAPH = {"ranksep": "0.5", "nodesep": "0.15"}  # tighter for grouped or summarised models

NODE_DEFAULT = {"fontname": FONT, "fontsize": "13", "penwidth": "1.2", "margin": "0.12,0.06"}
EDGE_DEFAULT = {"fontname": FONT, "fontsize": "11", "color": EDGE, "fontcolor": EDGE_LABEL,
                "arrowsize": "0.7", "penwidth": "1.1"}

# Node kinds.
NODE = {
    # equation level and op level, forward graph
    "input": {"shape": "ellipse", "style": "filled", "fillcolor": "#dbe9f6", "color": "#4a78a8"},
    "param": {"shape": "ellipse", "style": "filled,bold", "fillcolor": "#fdd9a8", "color": "#d06c00"},
    "data": {"shape": "ellipse", "style": "filled", "fillcolor": "#eeeeee", "color": "#8a8a8a"},
    "const": {"shape": "plaintext", "fontcolor": MUTED, "fontsize": "11", "margin": "0.02"},
    "equation": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": "#4a6fa5"},
    "output": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#dcefd6", "color": "#1b7837"},
    "op": {"shape": "circle", "style": "filled", "fillcolor": "#f4f4f4", "color": "#6b6b6b",
           "fontsize": "12", "margin": "0.02", "width": "0.42", "fixedsize": "false"},
    "named_op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": "#4a6fa5"},
    # backward graph and program
    "adjoint": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f1e4f3", "color": "#7b3294"},
    "adjoint_op": {"shape": "circle", "style": "filled", "fillcolor": "#f7eef8", "color": "#9a6aa8",
                   "fontsize": "12", "margin": "0.02", "width": "0.42"},
    "gradient": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#e7d4ee", "color": "#7b3294",
                 "peripheries": "2"},
    "instr": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": "#4a6fa5",
              "fontname": MONO, "fontsize": "12"},
    "adjoint_instr": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f7eef8", "color": "#7b3294",
                      "fontname": MONO, "fontsize": "12"},
    # the second sweep of an order-2 program (tangents of the gradients: Hessian-vector products)
    "tangent_op": {"shape": "circle", "style": "filled", "fillcolor": "#eef7ee", "color": "#3a8a4a",
                   "fontsize": "12", "margin": "0.02", "width": "0.42"},
    "tangent": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e3f2e5", "color": "#3a8a4a"},
    "tangent_instr": {"shape": "box", "style": "rounded,filled", "fillcolor": "#eef7ee", "color": "#3a8a4a",
                      "fontname": MONO, "fontsize": "12"},
    "hvp": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#d5ecd8", "color": "#2d6e3a",
            "peripheries": "2"},
    # large models
    "group": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f6f8fb", "color": "#4a6fa5"},
    "adjoint_group": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f7eef8", "color": "#7b3294"},
    "summary": {"shape": "note", "style": "filled,dashed", "fillcolor": "#fbfbfb", "color": FAINT,
                "fontcolor": MUTED},
}

# Extra attributes on top of a node's kind.
SHARED_NODE = {"penwidth": "3"}  # computed once, used many times
OUTPUT_MARK = {"penwidth": "2.4"}

# Edge kinds.
EDGE_KIND = {
    "normal": {},
    "highlight": {"color": HIGHLIGHT, "fontcolor": HIGHLIGHT, "penwidth": "2.6", "arrowsize": "0.85"},
    "backward": {"color": "#9a6aa8"},
    "cross": {"color": "#9a6aa8", "style": "dashed"},  # a forward value read by the backward part
    "tangent": {"color": "#3a8a4a"},
    "cross2": {"color": "#3a8a4a", "style": "dashed"},  # a value of the first two sweeps read by the second
    "summary": {"color": FAINT, "style": "dashed", "arrowhead": "empty"},
    "shape": {"color": FAINT, "style": "dotted", "arrowhead": "empty"},  # reads only the value's shape
}
# The 1 / 2 that tell the operands of a − b, a / b, a ^ b, a @ b apart: a small label on each edge.
OPERAND_MARK = {"fontsize": "9", "fontcolor": MUTED}

CLUSTER = {
    "forward": {"label": "forward", "style": "rounded,filled", "fillcolor": "#f7fbff", "color": "#c6dbef",
                "fontcolor": "#4a6fa5"},
    "backward": {"label": "backward (adjoints)", "style": "rounded,filled", "fillcolor": "#fcf7fd",
                 "color": "#e0c9e6", "fontcolor": "#7b3294"},
    "tangent": {"label": "second sweep (tangents of the gradients: Hessian-vector products)",
                "style": "rounded,filled", "fillcolor": "#f5fbf5", "color": "#bfe0c4", "fontcolor": "#2d6e3a"},
}

CAPTION_SIZE = "14"
LABEL_GAP = 10  # points between an edge label and its edge
LABEL_CHARS = 44  # edge labels longer than this wrap onto more lines (the full text is also the tooltip)
NODE_TEXT_CHARS = 40
INLINE_CHARS = 16  # an unnamed operation is named by its expression in ∂ labels up to this long, else by its op
MAX_LABEL_LINES = 8  # a label longer than this many lines ends in "…"
TOOLTIP_CHARS = 400  # Graphviz rejects very long strings

# Large models: beyond GROUP_AT operation nodes, group each equation's operations into one node;
# beyond MAX_NODES drawn nodes, keep those nearest the output and summarise the rest in one node; then
# only the highlighted edges keep their labels (every edge keeps its partial as an SVG tooltip).
GROUP_AT = 300
MAX_NODES = 150
MAX_RANKS = 20  # never more columns than this (left to right): deeper parts are summarised
MAX_EDGE_LABELS = 400

# Layout: left to right up to this many columns (when the graph is longer than it is wide), else top to
# bottom; every drawing fits MAX_WIDTH_IN inches (4,000 px at Graphviz's 72 dpi) and is scaled down if not.
MAX_LR_RANKS = 10
MAX_WIDTH_IN = 55
MAX_HEIGHT_IN = 1000
