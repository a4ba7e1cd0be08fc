"""Reference numbers of brainpy.state's HH, WangBuzsakiHH and MorrisLecar (run by ``test_hh.py``).

Run with any interpreter that has ``brainpy.state`` (brainpy 2.9.0 in a Python 3.12 venv, or the
``brainpy_state`` package behind brainpy 2.8.2 here); prints one JSON object: per model, the steps with a
spike (the step index ``i`` whose result, at ``t = (i + 1) dt``, crossed ``V_th``) and ``V`` every 500
steps, for a constant input from a fixed start, ``dt = 0.01`` ms, float32.  The numbers in
``test_hh.REFERENCE_290`` were printed by::

    /tmp/venv312/bin/python tests/neurons/_hh_reference.py    # brainpy 2.9.0

(the sole reference of these three models is brainpy.state; lapicque is not imported here).
"""

import json
import sys

import brainstate
import braintools
import brainunit as u
import jax.numpy as jnp
import numpy as np

import brainpy

#: (model, input in uA, steps, V_initializer in mV)
CASES = (("HH", 10., 5000, -65.), ("WangBuzsakiHH", 1., 10000, -65.), ("MorrisLecar", 150., 20000, -60.))


def run(name, amp_uA, n_steps, V0):
    model = getattr(brainpy.state, name)(1, V_initializer=braintools.init.Constant(V0 * u.mV))
    with brainstate.environ.context(dt=0.01 * u.ms):
        model.init_state()

        def step(i):
            with brainstate.environ.context(t=i * 0.01 * u.ms):
                spk = model.update(amp_uA * u.uA)
            return spk, model.V.value.to_decimal(u.mV)

        spk, V = brainstate.transform.for_loop(step, jnp.arange(n_steps))
    spk, V = np.asarray(spk)[:, 0], np.asarray(V)[:, 0]
    return {"spike_steps": np.nonzero(spk)[0].tolist(), "V_every_500": [round(float(v), 4) for v in V[499::500]]}


if __name__ == "__main__":
    out = {"brainpy": brainpy.__version__, "python": sys.version.split()[0]}
    out.update({name: run(name, amp, n, V0) for name, amp, n, V0 in CASES})
    print(json.dumps(out))
