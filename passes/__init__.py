"""Compiler passes: pure functions Graph -> Graph, and the pipeline that chains them."""

from .adjoint import adjoint
from .cse import cse
from .dce import dce
from .partials import attach_partials
from .schedule import schedule
from .simplify import simplify

# Forward clean-up first (so log(sigmoid(z)) is made stable before it is differentiated), then the
# reverse sweep, then clean-up of the whole forward+backward graph.
PIPELINE = (simplify, cse, attach_partials, adjoint, simplify, cse, dce)

__all__ = ["PIPELINE", "adjoint", "attach_partials", "cse", "dce", "schedule", "simplify"]
