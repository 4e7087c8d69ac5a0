"""Model text → op-level Graph. A tokenizer and an operator-precedence (shunting-yard) parser.

User text is only ever tokenized and matched against the grammar below; nothing is evaluated.
No recursion: deeply nested parentheses cost stack entries, not Python frames.

    model    := line*           line := [NAME "=" expr] ["#" comment]
    expr     := operand (binop operand)*          binop := + - * / ^ ** @
    operand  := "-" operand | "+" operand | NUMBER | NAME | NAME "(" expr ["," INT] ")" | "(" expr ")"
"""

import keyword
import re

import networkx as nx

from .errors import Error, ParseError, did_you_mean
from .graph import Graph, gc_paused, kahn, require_name
from .ops import FUNCTIONS, INFIX, REQUIRED

# Tokens as plain strings (fast); a token's kind follows from its first character, and columns are
# recomputed with the same pattern only when there is an error to report.
_TOKEN = re.compile(r"(?:[0-9]+(?:_[0-9]+)*\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[A-Za-z_][A-Za-z0-9_]*|\*\*|#.*|\S")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # not str.splitlines: \x0c, \x0b and U+2028 do not end a line
_OPS = frozenset("+-*/^@") | {"**"}


def _kind(token):
    c = token[0]
    if c in "0123456789" or (c == "." and len(token) > 1):  # not isdigit(): '²' is a digit to Python
        return "num"
    if c == "_" or (c.isascii() and c.isalpha()):
        return "name"
    if token in _OPS:
        return "op"
    return "punct" if c in "(),=" else "bad"

# Binary operators: (precedence, right-associative). Unary minus sits between * and ^: -x^2 = -(x^2).
_BINARY = {"+": (1, False), "-": (1, False), "*": (2, False), "/": (2, False), "@": (2, False),
           "^": (4, True), "**": (4, True)}
_NEG = 3

_NOT_IN_LANGUAGE = {
    ".": "attribute access is not part of the model language",
    "[": "subscripts are not part of the model language",
    "]": "subscripts are not part of the model language",
    "'": "strings are not part of the model language",
    '"': "strings are not part of the model language",
    ":": "':' is not part of the model language (no lambdas, slices or annotations)",
    ";": "one equation per line, please (no ';')",
    "{": "'{' is not part of the model language",
    "}": "'}' is not part of the model language",
    # Pasted from a paper or a picture: the ASCII operator they stand for.
    "−": "'−' is a Unicode minus; write '-'",
    "–": "'–' is a dash; write '-' for minus",
    "×": "'×' is not an operator here; write '*'",
    "·": "'·' is not an operator here; write '*' (or '@' for a matrix product)",
    "⋅": "'⋅' is not an operator here; write '*' (or '@' for a matrix product)",
    "÷": "'÷' is not an operator here; write '/'",
    "²": "'²' is not an operator here; write '^2'",
}


def parse(text, output=None):
    """Parse model equations into an op-level Graph (see DESIGN.md, "The model language")."""
    return _Parser(text).run(output)


class _Parser:
    def __init__(self, text):
        if not isinstance(text, str):
            raise Error(f"model text must be a string, not {type(text).__name__}")
        self.lines = _LINE_BREAK.split(text[:-1] if text.endswith(("\n", "\r")) else text) if text else []
        self.defined = {}  # name -> line number
        self.uses = {}  # equation name -> names its right-hand side uses
        self.used = {}  # every name used, in order of first use (a dict as an ordered set)
        self.nodes, self.args, self.next_id = {}, {}, 0  # collected here, added to networkx in bulk

    def fail(self, lineno, col, message):
        raise ParseError(lineno, col, message, self.lines[lineno - 1] if lineno <= len(self.lines) else None)

    def fail_at(self, index, message):
        """Fail at the `index`-th token of the current line (len(tokens) is the end of the line)."""
        line = self.lines[self.lineno - 1]
        cols = [m.start() + 1 for m in _TOKEN.finditer(line)] + [len(line.rstrip()) + 1]
        self.fail(self.lineno, cols[min(index, len(cols) - 1)], message)

    def run(self, output):
        with gc_paused():
            for lineno, line in enumerate(self.lines, 1):
                tokens = _TOKEN.findall(line)
                if tokens and tokens[-1][0] == "#":
                    tokens.pop()
                if tokens:
                    self.lineno = lineno
                    self.equation(tokens)
            return self.finish(output)

    def finish(self, output):
        if not self.defined:
            self.fail(1, 1, "empty model: write at least one equation, like `loss = (w*x - y)^2`")
        self.check_acyclic()
        # Names used but never defined are the inputs; then the networkx graph is filled in bulk.
        for name in self.used:
            if name not in self.nodes:
                self.nodes[name] = {"op": "input", "name": name}
        graph = Graph.from_args(self.nodes, self.args, outputs=[], level="op", lines=self.lines,
                                next_id=self.next_id)
        return graph.with_meta(outputs=[require_name(graph, output, "equation") if output else self.sink()])

    def sink(self):
        """The default output: the one equation no other equation uses (several: the one named `loss`).

        Equations may come in any order, so the last line is no guide; with several unused equations and
        none named `loss`, guessing would differentiate the wrong thing without a word, so it is an error.
        """
        unused = [name for name in self.defined if name not in self.used]
        if len(unused) == 1:
            return unused[0]
        if "loss" in unused:
            return "loss"
        listed = ", ".join(f"{name} (line {self.defined[name]})" for name in unused)
        raise Error(f"which equation is the output? {len(unused)} equations are not used by any other: "
                    f"{listed}; choose one with --output NAME (output=NAME in Python)")

    def check_acyclic(self):
        """Kahn's algorithm over the equations; on failure, name one cycle."""
        deps = {name: {a for a in self.uses[name] if a in self.defined} for name in self.defined}
        users = {name: [] for name in self.defined}
        for name, ds in deps.items():
            for d in ds:
                users[d].append(name)
        waiting = {name: len(ds) for name, ds in deps.items()}
        if len(kahn(list(deps), waiting, users.__getitem__)) == len(deps):
            return
        stuck = nx.DiGraph((d, n) for n, ds in deps.items() if waiting[n] for d in ds if waiting[d])
        cycle = [u for u, _ in nx.find_cycle(stuck)]
        first = min(cycle, key=lambda n: self.defined[n])
        start = cycle.index(first)
        path = cycle[start:] + cycle[:start] + [first]
        self.fail(self.defined[first], 1, "cycle between equations: " + " -> ".join(path))

    def equation(self, tokens):
        text, lineno = tokens[0], self.lineno
        if _kind(text) != "name" or len(tokens) < 2 or tokens[1] != "=":
            if _kind(text) == "bad":
                self.fail_at(0, self.bad_message(text))
            self.fail_at(0, "expected an equation `name = expression`")
        self.check_name(0, text)
        if text in FUNCTIONS:
            self.fail_at(0, f"{text!r} is a function name; choose another name for this equation")
        if text in self.defined:
            self.fail_at(0, f"{text!r} is defined twice (first on line {self.defined[text]})")
        self.defined[text] = lineno
        self.uses[text] = uses = set()
        root = self.expression(tokens, uses)
        if not root.startswith("%"):  # `a = b`: an identity op keeps both names
            self.add("id", [root], id=text, name=text, line=lineno)
        else:  # the root operation becomes the node called `text`
            self.nodes[text] = dict(self.nodes.pop(root), name=text)
            if root in self.args:
                self.args[text] = self.args.pop(root)

    def add(self, op, args=(), id=None, **attrs):
        if id is None:
            id = f"%{self.next_id}"
            self.next_id += 1
        attrs["op"] = op
        self.nodes[id] = attrs
        if args:
            self.args[id] = args
        return id

    @staticmethod
    def bad_message(char):
        if char in _NOT_IN_LANGUAGE:
            return _NOT_IN_LANGUAGE[char]
        if char.isdigit() or char.isnumeric():  # ৪, ３, 𝟗 look like numbers but are not ASCII digits
            return f"{char!r} is not an ASCII digit: write numbers with 0-9"
        return f"unexpected character {char!r}"

    def check_name(self, index, name):
        if name.startswith("__") or keyword.iskeyword(name):
            self.fail_at(index, f"{name!r} is a reserved word and cannot be a variable name")

    def expression(self, tokens, uses):
        """Shunting-yard over one right-hand side (tokens[2:]); returns the root node id."""
        lineno, fail = self.lineno, self.fail_at
        values = []  # node ids
        stack = []  # ["bin", op, index] | ["neg", None, index] | ["(", function or None, index, nargs]
        expect_operand = True
        i, n = 2, len(tokens)
        while i < n:
            text = tokens[i]
            kind = _kind(text)
            i += 1
            if expect_operand:
                if kind == "num":
                    values.append(self.add("const", value=float(text), line=lineno))
                    expect_operand = False
                elif kind == "name":
                    if i < n and tokens[i] == "(":
                        if text not in FUNCTIONS:
                            hint = did_you_mean(text, FUNCTIONS) or f"; for a product write {text}*(...)"
                            known = ", ".join(sorted(FUNCTIONS))
                            fail(i - 1, f"unknown function {text!r}{hint} (known: {known})")
                        stack.append(["(", text, i - 1, 1])
                        i += 1
                        continue
                    if text in FUNCTIONS:
                        fail(i - 1, f"{text!r} is a function; call it like {text}(x)")
                    self.check_name(i - 1, text)
                    uses.add(text)
                    self.used[text] = None
                    values.append(text)
                    expect_operand = False
                elif text == "(":
                    stack.append(["(", None, i - 1, 1])
                elif text == "-":
                    stack.append(["neg", None, i - 1])
                elif text == "+":
                    continue
                elif kind == "bad":
                    fail(i - 1, self.bad_message(text))
                else:
                    fail(i - 1, f"expected an expression before {text!r}")
                continue
            # Expecting an operator, ')' or ','.
            if kind == "op":
                prec, right = _BINARY[text]
                while stack and stack[-1][0] != "(":
                    top = stack[-1]
                    top_prec = _NEG if top[0] == "neg" else _BINARY[top[1]][0]
                    if top_prec > prec or (top_prec == prec and not right):
                        self.reduce(stack.pop(), values)
                    else:
                        break
                stack.append(["bin", text, i - 1])
                expect_operand = True
            elif text == ")" or text == ",":
                while stack and stack[-1][0] != "(":
                    self.reduce(stack.pop(), values)
                if not stack:
                    fail(i - 1, "unmatched ')'" if text == ")" else "',' outside a function call")
                if text == ",":
                    if stack[-1][1] is None:
                        fail(i - 1, "',' outside a function call")
                    stack[-1][3] += 1
                    expect_operand = True
                else:
                    _, fn, where, nargs = stack.pop()
                    if fn is not None:
                        self.call(where, fn, nargs, values)
            elif kind == "bad":
                fail(i - 1, _after_operand(tokens, i - 1) or self.bad_message(text))
            elif text == "=":
                fail(i - 1, "unexpected '=': one equation per line, and '==' is not an operator")
            else:
                fail(i - 1, f"expected an operator before {text!r}{_implicit_product(tokens[i - 2], text)}")
        if expect_operand:
            if n == 2:
                fail(2, "expected an expression after '='")
            fail(n, "expected an expression at the end of the line (dangling operator?)")
        while stack:
            top = stack.pop()
            if top[0] == "(":
                fail(top[2], "unmatched '('" if top[1] is None else f"unclosed call to {top[1]}(")
            self.reduce(top, values)
        return values[0]

    def reduce(self, entry, values):
        lineno = self.lineno
        if entry[0] == "neg":
            x = values.pop()
            d = self.nodes.get(x) if x.startswith("%") else None
            if d is not None and d["op"] == "const":  # -2 is a number, not an operation
                d["value"] = -d["value"]
                values.append(x)
            else:
                values.append(self.add("neg", [x], line=lineno))
            return
        b, a = values.pop(), values.pop()
        values.append(self.add(INFIX[entry[1]], [a, b], line=lineno))

    def call(self, where, fn, nargs, values):
        """`fn(operands..., params...)`: the op row says how many operands and which constant parameters."""
        row, lineno = FUNCTIONS[fn], self.lineno
        required = sum(p.default is REQUIRED for p in row.params)
        if not row.arity + required <= nargs <= row.arity + len(row.params):
            self.fail_at(where, f"{fn}() takes {_signature(row)}, got {nargs}")
        given = values[len(values) - (nargs - row.arity):] if nargs > row.arity else []
        del values[len(values) - len(given):]
        params = []
        for p, node in zip(row.params, given):
            d = self.nodes.get(node) if node.startswith("%") else None
            if d is None or d["op"] != "const" or (p.kind is int and not float(d["value"]).is_integer()):
                kind = "an integer constant" if p.kind is int else "a constant number"
                self.fail_at(where, f"the {p.name} of {fn}() must be {kind}, like {_example(row)}")
            del self.nodes[node]
            params.append(p.kind(d["value"]))
        params += [p.default for p in row.params[len(params):]]
        operands = values[len(values) - row.arity:]
        del values[len(values) - row.arity:]
        attrs = {"params": row.bind(params)} if row.params else {}
        values.append(self.add(fn, operands, line=lineno, **attrs))


def _implicit_product(before, token):
    """`2w`, `2(x + 1)`, `x y`: a product written without its `*`."""
    if _kind(token) not in ("num", "name") and token != "(":
        return ""
    left = "(...)" if before == ")" else before
    right = "(...)" if token == "(" else token
    return f"; did you mean `{left}*{right}`?"


def _after_operand(tokens, index):
    """Messages for `np.exp(x)` and `x[0]`, which look like Python: say what the model language writes."""
    before, char = tokens[index - 1], tokens[index]
    after = tokens[index + 1] if index + 1 < len(tokens) else ""
    if _kind(before) != "name":
        return None
    if char == "." and after in FUNCTIONS:
        return f"attribute access: write `{after}(...)`, not `{before}.{after}(...)`; the model language has no modules"
    if char == "." and after and _kind(after) == "name":
        return f"attribute access (`{before}.{after}`) is not part of the model language; it has no modules or objects"
    if char == "[":
        return (f"indexing (`{before}[...]`) is not supported: reduce with sum({before}, axis) or "
                f"mean({before}, axis), or pass the element you need as an input of its own")
    return None


def _signature(row):
    """How a function is called, for messages: `1 argument`, `1 or 2 arguments (x, axis)`."""
    names = ["x", "y", "z"][: row.arity] + [p.name for p in row.params]
    least = row.arity + sum(p.default is REQUIRED for p in row.params)
    most = len(names)
    count = f"{least} argument" + ("s" if least != 1 else "") if least == most else f"{least} or {most} arguments"
    return count if most == 1 else f"{count} ({', '.join(names)})"


def _example(row):
    """A call with small constants for the parameters: sum(x, 0), clip(x, 0, 1)."""
    return f"{row.name}({', '.join(['x'] * row.arity + [str(i) for i in range(len(row.params))])})"
