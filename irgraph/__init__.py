"""irgraph: model equations → reverse-mode gradient programs, with pictures."""

from . import display  # noqa: F401 - registers notebook display on Graph and Program
from .backends.execute import Result
from .compiler import compile
from .fit import DivergedError, FitResult, fit  # irgraph.fit is the function; its module: sys.modules
from .ir.errors import Error, ParseError
from .ir.graph import Graph
from .ir.parse import parse
from .ir.program import Instr, Program

__all__ = ["DivergedError", "Error", "FitResult", "Graph", "Instr", "ParseError", "Program", "Result", "compile",
           "fit", "parse"]
