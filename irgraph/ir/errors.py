"""Errors a user can cause. Each names the equation, variable or shape at fault."""

import difflib


class Error(Exception):
    """Every error a user can cause: bad model text, bad inputs, a missing device."""


class NonFiniteWarning(RuntimeWarning):
    """A NaN or an Inf appeared while running a program (an irgraph.Error with check_finite=True)."""


class ParseError(Error):
    """A problem in the model text, at a line and column (both 1-based)."""

    def __init__(self, line, col, message, source_line=None):
        self.line, self.col, self.message, self.source_line = line, col, message, source_line
        text = f"{line}:{col}: error: {message}"
        if source_line is not None:
            text += f"\n    {source_line}\n    {' ' * (col - 1)}^"
        super().__init__(text)


def did_you_mean(name, candidates):
    """"; did you mean 'x1'?" when a candidate is close to `name`, else ""."""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def equation_text(lines, line):
    """`line 3: yhat = b + a1 + a2` (comment dropped), or None when the line number is not in the model."""
    if not line or not 0 < line <= len(lines):
        return None
    return f"line {line}: {lines[line - 1].split('#')[0].strip()}"
