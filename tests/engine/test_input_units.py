"""simulate drives each model in its own input unit: a current for the IF and HH models, mV/ms for
Izhikevich, a plain number for FitzHugh-Nagumo and Hindmarsh-Rose; the run equals the user's own loop."""

import brainstate
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq

CASES = [  # model, input for simulate, steps
    (lambda: lq.Izhikevich(3), 10. * u.mV / u.ms, 1000),
    (lambda: lq.HH(3), 10. * u.uA, 2000),
    (lambda: lq.FitzHughNagumo(3), 0.5, 2000),
    (lambda: lq.HindmarshRose(3), np.array([2., 3., 3.5]), 2000),
]


def _own_loop(model, x, steps, dt):
    with brainstate.environ.context(dt=dt * u.ms):
        model.init_state()

        def step(i):
            with brainstate.environ.context(t=i * dt * u.ms, i=i):
                return model.update(x)

        return np.asarray(brainstate.transform.for_loop(step, jnp.arange(steps)))


@pytest.mark.parametrize("make, x, steps", CASES)
def test_simulate_takes_the_models_input_unit_and_equals_the_users_loop(make, x, steps):
    dt = 0.01 if isinstance(make(), lq.HH) else 0.1
    brainstate.random.seed(0)  # HH starts at a random V: the same draws for both runs
    res = lq.simulate(make(), x, steps * dt * u.ms, dt=dt * u.ms)
    brainstate.random.seed(0)
    spikes = _own_loop(make(), x if isinstance(x, u.Quantity) else jnp.asarray(x), steps, dt)
    assert res.spike_count.sum() > 0
    np.testing.assert_array_equal(res.spike_count, (spikes > 0).sum(0))


def test_a_wrong_input_unit_names_the_models_unit():
    with pytest.raises(TypeError, match=r"units of mV / ms .*got unit mA"):
        lq.simulate(lq.Izhikevich(2), 10. * u.mA, 10. * u.ms)
    with pytest.raises(TypeError, match="plain number"):
        lq.simulate(lq.FitzHughNagumo(2), 10. * u.mA, 10. * u.ms)
    with pytest.raises(TypeError, match=r"units of current \(e.g. 5 \* u.mA\)"):
        lq.simulate(lq.LIF(2), 10. * u.mV, 10. * u.ms)
