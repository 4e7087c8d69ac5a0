"""Fixtures shared by the end-to-end tests (the corpus itself is tests/cases.py)."""

import pytest
from cases import DEVICES


@pytest.fixture(params=DEVICES)
def device(request):
    """Each device the corpus runs on: "numpy", and "cupy" when CuPy and a GPU are present."""
    return request.param
