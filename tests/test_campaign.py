"""The random-model campaign: seeded random models through prog.run and the generated module, against JAX.

CI runs the first 1,000 seeds (about two minutes); a larger run is one command:

    .venv/bin/python -m pytest tests/test_campaign.py --campaign 10000

A failure prints every differing model with its text, inputs and what differed; `randmodels.model(seed)`
rebuilds any of them.
"""

import pytest
import randmodels
from cases import NUMBA_MISSING

CHUNK = 100  # models per JAX compilation (see randmodels.references)


def test_the_generator_draws_every_function_of_the_language():
    assert randmodels.uncovered() == []


def pytest_generate_tests(metafunc):
    if "chunk" in metafunc.fixturenames:
        n = metafunc.config.getoption("campaign")
        metafunc.parametrize("chunk", [range(s, min(s + CHUNK, n)) for s in range(0, n, CHUNK)],
                             ids=lambda r: f"seeds{r.start}-{r.stop - 1}")


@pytest.mark.slow
def test_random_models_agree_with_jax(chunk):
    J = randmodels.jax_ops()
    if J is None:
        pytest.skip("JAX is not installed (pip install -e '.[dev]')")
    failures = [f"{m!r}\ninputs: {m.inputs}\nwrt: {m.wrt}\n  " + "\n  ".join(problems)
                for m, problems in randmodels.campaign(chunk, J)]
    assert not failures, f"{len(failures)} of {len(chunk)} models differ from JAX:\n\n" + "\n\n".join(failures)


@pytest.mark.slow
@pytest.mark.skipif(NUMBA_MISSING is not None, reason=str(NUMBA_MISSING))
@pytest.mark.parametrize("seeds", [range(CHUNK), range(CHUNK, 2 * CHUNK)], ids=lambda r: f"seeds{r.start}-{r.stop - 1}")
def test_random_models_on_numba_agree_with_jax(seeds):
    """The first 200 seeds on the fused backend too (each compiles its own Numba kernels: ~0.2 s a model)."""
    J = randmodels.jax_ops()
    if J is None:
        pytest.skip("JAX is not installed (pip install -e '.[dev]')")
    failures = [f"{m!r}\ninputs: {m.inputs}\nwrt: {m.wrt}\n  " + "\n  ".join(problems)
                for m, problems in randmodels.campaign(seeds, J, device="numba")]
    assert not failures, f"{len(failures)} of {len(seeds)} models differ from JAX:\n\n" + "\n\n".join(failures)
