"""Stepping helper of the tests of the models whose input is not a current in mA (Izhikevich: mV/ms;
FitzHugh-Nagumo, Hindmarsh-Rose: dimensionless) and of the synaptic LIFs (delta inputs into ``g``).

Like ``tests/_run.py``, but the input is taken as given (a Quantity or a plain array), and an optional
function of the step index gives a delta input registered before each update.
"""

import brainstate
import jax.numpy as jnp
import numpy as np
import saiunit as u


def run(model, inputs, dt, record=("V",), delta=None, init=True, batch_size=None):
    """Run ``model`` over the (T, ...) ``inputs`` in one compiled loop (``t = i * dt`` at step ``i``).

    Returns ``(spikes, traces)``: spikes (T, ...) as numpy floats and the recorded states after each step
    (mantissas in the state's unit).
    """
    n = inputs.shape[0]
    with brainstate.environ.context(dt=dt):
        if init:
            model.init_state(batch_size)

        def step(i, x):
            with brainstate.environ.context(t=i * dt):
                if delta is not None:
                    model.add_delta_input("delta", delta(i))
                spk = model.update(x)
            return spk, {k: u.get_mantissa(getattr(model, k).value) for k in record}

        spk, rec = brainstate.transform.for_loop(step, jnp.arange(n), inputs)
    return np.asarray(spk), {k: np.asarray(v) for k, v in rec.items()}


def constant(values, steps, unit=None):
    """``values`` (one per neuron) repeated over ``steps`` steps, times ``unit`` (None: plain numbers)."""
    arr = jnp.broadcast_to(jnp.asarray(values, dtype=jnp.float32), (steps, len(values)))
    return arr if unit is None else arr * unit


def spike_times(spikes, dt_ms, neuron=0):
    """Spike times (ms, the end of the step) of one neuron of a (T, n) spike array."""
    return (np.nonzero(spikes[:, neuron])[0] + 1) * dt_ms
