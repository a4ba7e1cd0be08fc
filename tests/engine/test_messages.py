"""simulate's messages for a network whose ``update`` does not take what simulate passes (issue 24).

A Brian2/NEST user writes ``def update(self, t)``; simulate calls ``update()`` (current=None) or ``update(x)``
and the time is ``brainstate.environ.get('t')``.  The error says so, before any state is touched, instead of
JAX's bare ``missing 1 required positional argument: 't'`` from inside the trace.
"""

import brainstate
import pytest
import saiunit as u

import lapicque as lq


class TakesTime(brainstate.nn.Module):
    def __init__(self):
        super().__init__()
        self.pop = lq.LIF(3)

    def update(self, t):
        self.pop(2 * u.mA)


class TakesTwo(brainstate.nn.Module):
    def __init__(self):
        super().__init__()
        self.pop = lq.LIF(3)

    def update(self, t, x):
        self.pop(x)


class ReadsTime(brainstate.nn.Module):
    """What the message tells to write."""

    def __init__(self):
        super().__init__()
        self.pop = lq.LIF(3)

    def update(self, x=None):
        t = brainstate.environ.get("t")
        self.pop(2 * u.mA * (t >= 0 * u.ms))


def test_update_with_t_and_no_current():
    with pytest.raises(TypeError) as info:
        lq.simulate(TakesTime(), None, 2 * u.ms)
    msg = str(info.value)
    assert msg.startswith("simulate: TakesTime.update(self, t) cannot be called as simulate calls it")
    assert "model.update() with no argument" in msg
    assert "brainstate.environ.get('t')" in msg and "def update(self):" in msg


def test_update_with_t_and_an_input():
    with pytest.raises(TypeError, match=r"TakesTwo\.update\(self, t, x\) .* model\.update\(x\) with one argument, "
                                        r"the step's input .*def update\(self, x\):"):
        lq.simulate(TakesTwo(), 2 * u.mA, 2 * u.ms)


def test_the_message_leaves_the_states_alone():
    net = TakesTime()
    with pytest.raises(TypeError):
        lq.simulate(net, None, 2 * u.ms)
    assert not net.pop.states()  # raised before the states were initialized


def test_what_the_message_says_to_write_runs():
    res = lq.simulate(ReadsTime(), None, 20 * u.ms)
    assert int(res["pop"].spike_count.sum()) > 0
    res = lq.simulate(ReadsTime(), 2 * u.mA, 2 * u.ms)  # update(x) with a current: also accepted
    assert res["pop"].n_steps == 20
