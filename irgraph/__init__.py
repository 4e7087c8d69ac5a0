"""irgraph: model equations → reverse-mode gradient programs, with pictures."""

from .errors import Error, ParseError
from .graph import Graph
from .parse import parse

__all__ = ["Error", "ParseError", "Graph", "parse"]
