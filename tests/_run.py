"""Stepping helper shared by the tests: run a model over an input sequence."""

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u


def run(model, currents, dt=0.1 * u.ms, batch_size=None, record=("V",), init=True, t0=0.):
    """Run ``model`` for ``len(currents)`` steps inside one compiled loop.

    ``currents`` is a (T, ...) array of mantissas in mA (or a Quantity).
    Returns ``(spikes, traces)`` as numpy arrays: spikes (T, ...) and a dict of
    the recorded states after each step (mantissas in the state's unit).
    The state after k steps represents time k * dt; step i runs with t = i*dt.
    """
    currents = u.Quantity(currents, unit=u.mA) if not isinstance(currents, u.Quantity) else currents
    n = currents.shape[0]
    with brainstate.environ.context(dt=dt):
        if init:
            model.init_state(batch_size)

        def step(i, x):
            with brainstate.environ.context(t=t0 * u.ms + i * dt):
                spk = model.update(x)
            rec = {}
            for name in record:
                v = getattr(model, name).value
                rec[name] = u.get_mantissa(v)
            return spk, rec

        spk, rec = brainstate.transform.for_loop(step, jnp.arange(n), currents)
    return np.asarray(spk), {k: np.asarray(v) for k, v in rec.items()}
