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
