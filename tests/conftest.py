"""Fixtures shared by the end-to-end tests (the corpus itself is tests/cases.py)."""

import os

import pytest
from cases import DEVICES

# The compiler checks its IR after every pass and the Program it schedules (Graph.verify, Program.verify)
# throughout the test suite, and in the CLI tests' subprocesses too, which inherit the environment.
os.environ.setdefault("IRGRAPH_VERIFY", "1")


def pytest_addoption(parser):
    parser.addoption("--campaign", type=int, default=1000, metavar="N",
                     help="how many random models tests/test_campaign.py checks against JAX (default 1000)")


@pytest.fixture(params=DEVICES)
def device(request):
    """Each device the corpus runs on: "numpy", and "cupy" when CuPy and a GPU are present."""
    return request.param
