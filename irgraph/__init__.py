"""irgraph: model equations → reverse-mode gradient programs, with pictures."""

from .compiler import compile
from .errors import Error, ParseError
from .graph import Graph
from .parse import parse
from .program import Instr, Program, Result

__all__ = ["Error", "Graph", "Instr", "ParseError", "Program", "Result", "compile", "parse"]
