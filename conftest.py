"""Doctests of the package start from an empty ``brainstate.environ`` (no ``dt``/``t`` left by a test that ran
before them in the same worker) and leave it as they found it."""

import brainstate
import pytest

_MISSING = object()


@pytest.fixture(autouse=True)
def _doctest_environ(request):
    if type(request.node).__name__ != "DoctestItem":
        yield
        return
    saved = {k: brainstate.environ.pop(k, _MISSING) for k in ("dt", "t", "i")}
    yield
    for k, v in saved.items():
        brainstate.environ.pop(k, None)
        if v is not _MISSING:
            brainstate.environ.set(**{k: v})
