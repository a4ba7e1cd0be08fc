"""Every State a step touches goes through simulate's compiled program; identical networks share one compile.

Issue 25, items 1, 2 and 4: random sources (the global ``brainstate.random`` key), repeated runs of fresh
instances, parameter sweeps, re-seeding, a State outside the module tree, a non-finite starting state.
The reference for the key is brainstate's own ``for_loop`` over the same steps.
"""

import os
import subprocess
import sys
from pathlib import Path

import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque._engine.cache import COMPILED

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _poisson_net as P  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def env():
    brainstate.environ.set(dt=0.1 * u.ms)
    yield
    brainstate.random.seed()


def test_poisson_network_twice_reseeded_and_swept_then_the_global_key_still_works():
    r = P.checks()
    assert r["same_seed_identical"] and r["reseeded_differs"] and r["spikes"] > 0
    assert r["compiled"] == 1  # two fresh instances, a new seed and five weights: one program
    assert r["sweep"] == sorted(r["sweep"]) and r["sweep"][0] < r["sweep"][-1]  # every weight really acts
    assert r["random_after"]  # no tracer left in brainstate.random's key


def test_seed_before_a_run_takes_effect_on_the_cached_program():
    """brainstate.random.seed(s) between two runs of the same program changes (and fixes) their draws."""
    net = P.PoissonEI()
    a = P.raster(net, 21)
    b = P.raster(net, 22)
    c = P.raster(net, 21)
    assert (a != b).any() and (a == c).all()


def test_simulate_draws_and_advances_the_key_as_the_users_for_loop():
    """Same seed: simulate's spikes and the key it leaves equal those of brainstate.transform.for_loop."""
    net = P.PoissonEI()
    brainstate.random.seed(5)
    brainstate.nn.init_all_states(net)

    def step(i):
        with brainstate.environ.context(t=i * 0.1 * u.ms, i=i):
            net.update()
            return net.pop.get_spike()

    loop = np.asarray(brainstate.transform.for_loop(step, np.arange(500))) > 0.5
    key_loop = jax.random.key_data(brainstate.random.DEFAULT.value)
    sim = P.raster(P.PoissonEI(), 5)
    np.testing.assert_array_equal(sim, loop)
    np.testing.assert_array_equal(jax.random.key_data(brainstate.random.DEFAULT.value), key_loop)


class _Counter(brainstate.nn.Module):
    """Counts its steps in a State it does not own: a global one and one hidden in a plain object."""

    TOTAL = brainstate.ShortTermState(jnp.zeros((), jnp.int32))

    class _Box:
        pass

    def __init__(self):
        super().__init__()
        self.neu = lq.LIF(3)
        self.box = self._Box()
        self.box.steps = brainstate.ShortTermState(jnp.zeros((), jnp.int32))

    def update(self):
        _Counter.TOTAL.value = _Counter.TOTAL.value + 1
        self.box.steps.value = self.box.steps.value + 2
        return self.neu(1. * u.mA)


def test_states_outside_the_module_tree_are_read_and_written():
    _Counter.TOTAL.value = jnp.zeros((), jnp.int32)
    m = _Counter()
    lq.simulate(m, None, 10 * u.ms)
    lq.simulate(_Counter(), None, 5 * u.ms)
    assert int(_Counter.TOTAL.value) == 150  # 100 + 50 steps, one program each, threaded through both runs
    assert int(m.box.steps.value) == 200
    assert not isinstance(_Counter.TOTAL.value, jax.core.Tracer)


def _ei(seed, w=1. * u.nS, n=200):
    """A small E/I-like network on lapicque's connectivity: the same structure for every seed and weight."""
    class Net(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.pop = lq.LIFRef(n, R=100. * u.Mohm, tau=20. * u.ms, tau_ref=5. * u.ms, V_rest=-60. * u.mV,
                                 V_th=-50. * u.mV, V_reset=-60. * u.mV,
                                 V_initializer=braintools.init.Constant(-60. * u.mV))
            self.proj = lq.AlignPostProj(comm=lq.FixedOutDegree(n, n, 10, w, seed=seed),
                                         syn=lq.Expon.desc(n, tau=5. * u.ms), out=lq.COBA.desc(E=-80. * u.mV),
                                         post=self.pop, delay=0.1 * u.ms)

        def update(self):
            self.proj(self.pop.get_spike() != 0)
            return self.pop(200. * u.pA)
    return Net()


def test_twenty_instances_of_one_network_compile_once_and_are_never_stale():
    COMPILED.clear()
    counts = [int(lq.simulate(_ei(seed), None, 100 * u.ms, spikes="count")["pop"].spike_count.sum())
              for seed in range(20)]
    assert len(COMPILED) == 1
    weights = [int(lq.simulate(_ei(0, w * u.nS), None, 100 * u.ms, spikes="count")["pop"].spike_count.sum())
               for w in (0., 5., 50.)]
    assert len(COMPILED) == 1 and weights[0] > weights[1] > weights[2]  # inhibition: each weight acts
    assert len(set(counts)) > 1  # the seeds draw other edges, and they act too
    lq.simulate(_ei(0, n=100), None, 100 * u.ms, spikes="count")
    assert len(COMPILED) == 2  # another structure


def test_a_neuron_parameter_is_compiled_in_and_a_new_value_compiles_anew():
    """Neuron parameters stay constants of the program (XLA folds them); a new value is never stale."""
    COMPILED.clear()
    a = lq.simulate(lq.LIF(2, tau=5. * u.ms), 1.5 * u.mA, 50 * u.ms).spike_count
    b = lq.simulate(lq.LIF(2, tau=10. * u.ms), 1.5 * u.mA, 50 * u.ms).spike_count
    assert len(COMPILED) == 2 and (a != b).all()


@pytest.mark.parametrize("where", ["initializer", "state"])
def test_a_non_finite_starting_state_is_refused_before_the_run(where):
    if where == "initializer":
        neu = lq.LIF(4, V_initializer=braintools.init.Constant(np.nan * u.mV))
        init = True
    else:
        neu = lq.LIF(4)
        neu.init_state()
        neu.V.value = u.math.asarray([0., 0., np.inf, 0.]) * u.mV
        init = False
    with pytest.raises(lq.NonFiniteStateError, match=r"state 'V' is NaN or infinite at the start.*index "
                                                     + ("0" if where == "initializer" else "2")) as e:
        lq.simulate(neu, 1. * u.mA, 1 * u.ms, init=init)
    assert e.value.state == "V" and e.value.step is None


def test_four_simulated_devices():
    """The same checks on 4 CPU devices (one population cut in 4 blocks, synapses by postsynaptic block)."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT),
           "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()}
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "engine" / "_poisson_net.py"), "4"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    r = __import__("json").loads([x for x in out.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])
    assert r["devices"] == 4
    assert r["same_seed_identical"] and r["reseeded_differs"] and r["spikes"] > 0 and r["random_after"]
    assert r["compiled"] == 1 and r["sweep"][0] < r["sweep"][-1]
