"""Parameters given as brainstate.ParamState are trainable (and still validated).

V_th = 20 mV, V_reset = 5 mV keep V (< 0.5 mV) outside the surrogate's support
((V - V_th) / (V_th - V_reset) < -1), so the only
gradient path is the membrane equation and finite differences apply.
"""

import brainstate
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq


def _V_sum(model, steps=100):
    def step(i):
        model.update(0.5 * u.mA)
        return model.V.value.to_decimal(u.mV)
    return brainstate.transform.for_loop(step, jnp.arange(steps)).sum()


def test_paramstate_tau_gradient_matches_finite_difference():
    tau = brainstate.ParamState(10. * u.ms)
    model = lq.LIF(4, tau=tau, V_th=20. * u.mV, V_reset=5. * u.mV)
    with brainstate.environ.context(dt=0.1 * u.ms):
        model.init_state()

        def loss():
            model.reset_state()
            return _V_sum(model)

        grad = brainstate.transform.grad(loss, grad_states={"tau": tau})()["tau"]

        def loss_at(tau_ms):
            m = lq.LIF(4, tau=tau_ms * u.ms, V_th=20. * u.mV, V_reset=5. * u.mV)
            m.init_state()
            return float(_V_sum(m))

        h = 0.05
        fd = (loss_at(10. + h) - loss_at(10. - h)) / (2 * h)
    assert np.asarray(u.get_mantissa(grad)) == pytest.approx(fd, rel=2e-3)


def test_paramstate_value_is_validated():
    with pytest.raises(lq.ParameterError, match="tau"):
        lq.LIF(4, tau=brainstate.ParamState(-1. * u.ms))
    with pytest.raises(TypeError, match="tau"):
        lq.LIF(4, tau=brainstate.ParamState(1. * u.mV))
