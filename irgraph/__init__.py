"""irgraph: model equations → reverse-mode gradient programs, with pictures."""

from . import display  # noqa: F401 - registers notebook display and .draw() on Graph and Program
from .api import Function, grad, value_and_grad
from .backends.execute import Result
from .compiler import compile
from .fit import DivergedError, FitResult, fit  # irgraph.fit is the function; its module: sys.modules
from .higher import hessian, hvp, jvp
from .ir.errors import Error, NonFiniteWarning, ParseError
from .ir.graph import Graph
from .ir.parse import parse
from .ir.program import Instr, Program

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

__all__ = ["DivergedError", "Error", "FitResult", "Function", "Graph", "Instr", "NonFiniteWarning", "ParseError",
           "Program", "Result", "__version__", "compile", "fit", "grad", "hessian", "hvp", "jvp", "parse",
           "value_and_grad"]
