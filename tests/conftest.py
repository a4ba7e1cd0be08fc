"""Shared test fixtures."""

import brainstate
import pytest

_MISSING = object()


@pytest.fixture
def isolated_environ():
    """Remove a global dt / t set elsewhere and restore it afterwards."""
    saved = {k: brainstate.environ.pop(k, _MISSING) for k in ("dt", "t")}
    yield
    for k, v in saved.items():
        brainstate.environ.pop(k, None)
        if v is not _MISSING:
            brainstate.environ.set(**{k: v})


#: the helper modules and the scripts tests start in their own process (``_*.py``) hold no tests: pytest must not
#: import them looking for doctests (a script switches JAX to float64 or runs a minute-long simulation)
collect_ignore_glob = ["_*.py", "*/_*.py"]
