"""irgraph: model equations → reverse-mode gradient programs, with pictures."""

from . import display  # noqa: F401 - registers notebook display on Graph and Program
from .backends.execute import Result
from .compiler import compile
from .ir.errors import Error, ParseError
from .ir.graph import Graph
from .ir.parse import parse
from .ir.program import Instr, Program

__all__ = ["Error", "Graph", "Instr", "ParseError", "Program", "Result", "compile", "parse"]
