"""Assertions shared by tests of several layers."""

import pytest


def raises_naming(make, exc, words):
    """``make()`` raises ``exc`` whose message contains every one of ``words`` (class, parameter, expectation)."""
    with pytest.raises(exc) as info:
        make()
    for w in words:
        assert w in str(info.value)
