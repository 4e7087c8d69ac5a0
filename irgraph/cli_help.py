"""What `irgraph COMMAND --help` shows below the options: one worked example and the model language."""

from .ir.ops import FUNCTIONS, REQUIRED

EXAMPLES = {
    "compile": """example:
  $ irgraph compile examples/linear.eq --wrt b,w1,w2 --stats
  prints a standalone module defining value_and_grad(inputs, xp=None), then its statistics:
  # forward_ops: 6
  # backward_ops: 3""",
    "run": """example:
  $ irgraph run examples/linear.eq --inputs examples/linear.json --wrt b,w1,w2
  loss = 3.0625
  dloss/db = -3.5
  dloss/dw1 = -5.25
  dloss/dw2 = 1.75""",
    "render": """example:
  $ irgraph render examples/linear.eq --inputs examples/linear.json --highlight w1 -o linear.svg
  draws every equation with its value and gradient, and the chain rule along the paths to w1""",
    "explain": """example:
  $ irgraph explain examples/linear.eq --wrt w1
  ∂loss/∂w1 = ∂loss/∂yhat * ∂yhat/∂a1 * ∂a1/∂w1
            = 2*(yhat - y) * 1 * x1   (and the steps before it)""",
    "fit": """example:
  $ irgraph fit examples/linreg.eq --data examples/linreg.csv --shape b=scalar,w1=scalar,w2=scalar \\
        --lr 0.05 --steps 500 -o learned.json""",
}


def _call(row):
    """`sum(x[, axis])`, `clip(x, lo, hi)`: how the function is written."""
    operands = ["x", "y", "z"][: row.arity]
    required = [p.name for p in row.params if p.default is REQUIRED]
    optional = [p.name for p in row.params if p.default is not REQUIRED]
    text = ", ".join(operands + required)
    return f"{row.name}({text}{''.join(f'[, {o}]' for o in optional)})"


def language():
    """The model language in a few lines, its function list read from the op table."""
    calls = " ".join(_call(row) for row in FUNCTIONS.values())
    lines = [
        "model language:",
        "  one equation per line, `name = expression`, in any order; # starts a comment",
        "  names never defined are inputs; the output is the equation no other uses (or the one named loss)",
        "  operators + - * / ^ (or **) @, unary minus (-x^2 = -(x^2)); NumPy broadcasting",
        "  functions:",
    ]
    line = "   "
    for word in calls.split(" "):
        if len(line) + len(word) > 100:
            lines.append(line)
            line = "   "
        line += " " + word
    lines.append(line)
    return "\n".join(lines)


def epilog(command):
    return f"{EXAMPLES[command]}\n\n{language()}"
