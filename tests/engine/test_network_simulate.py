"""simulate() on a network: same spikes as the user's own for_loop, cached across runs, traces by path."""

import sys
from pathlib import Path

import brainstate
import jax.numpy as jnp
import numpy as np
import saiunit as u

import lapicque as lq
from lapicque._engine.cache import COMPILED

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from ei_network import EINet  # noqa: E402


class Net(EINet):
    """The example network with an update() that takes no argument (simulate sets t itself)."""

    def update(self):
        self.EI(self.pop.get_spike() != 0.)
        self.pop(200. * u.pA)


def _states(net):
    return {k: v.value for k, v in net.states().items()}


def test_simulate_equals_the_users_for_loop_step_for_step():
    net = Net(N=1000)
    brainstate.environ.set(dt=0.1 * u.ms)
    brainstate.nn.init_all_states(net)
    start = _states(net)

    def step(i):
        with brainstate.environ.context(t=i * 0.1 * u.ms, i=i):
            net.update()
            return net.pop.get_spike() != 0.
    loop = np.asarray(brainstate.transform.for_loop(step, jnp.arange(2000)))
    for k, v in net.states().items():
        v.value = start[k]
    res = lq.simulate(net, None, 200. * u.ms, init=False, record=("pop.V", "E.syn.g"))
    np.testing.assert_array_equal(res["pop"].spike_raster(), loop)
    assert loop.sum() > 1000  # the network is active
    assert res.traces["E.syn.g"].shape == (2000, 1000)
    assert res["pop"].traces["V"].shape == (2000, 1000)


def test_a_network_is_compiled_once_for_repeated_runs():
    net = Net(N=1000)
    COMPILED.clear()
    a = lq.simulate(net, None, 50. * u.ms, spikes="count")
    b = lq.simulate(net, None, 50. * u.ms, spikes="count")
    assert len(COMPILED) == 1
    rates = [float(r.mean_rate["pop"].to_decimal(u.Hz)) for r in (a, b)]
    assert all(r > 5 for r in rates)
