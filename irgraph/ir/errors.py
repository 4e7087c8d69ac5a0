"""Errors a user can cause. Each names the equation, variable or shape at fault."""


class Error(Exception):
    """Every error a user can cause: bad model text, bad inputs, a missing device."""


class ParseError(Error):
    """A problem in the model text, at a line and column (both 1-based)."""

    def __init__(self, line, col, message, source_line=None):
        self.line, self.col, self.message, self.source_line = line, col, message, source_line
        text = f"{line}:{col}: error: {message}"
        if source_line is not None:
            text += f"\n    {source_line}\n    {' ' * (col - 1)}^"
        super().__init__(text)
