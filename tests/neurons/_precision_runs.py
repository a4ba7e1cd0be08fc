"""The simulations of ``test_precision.py`` at one float precision, in a process of their own.

float64 needs ``jax_enable_x64``, set before anything runs, so the test runs this script once with
``64`` and once with ``32`` (the same code path for both) and compares their output::

    python tests/neurons/_precision_runs.py 64 --steps 2000 --scales 0.8,1,1.5,3 --names LIF,ExpIF

It prints one ``RESULT <json>`` line: whether x64 is on, the dtype of every state of every model, the
spikes and V of each model under ``scale x`` its spiking current, and three closed-form trajectories
(LIF below threshold, ALIF's ``a``, Gif's ``I1`` / ``I2``).
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: _run, registry


def runs(precision, names, scales, n_steps):
    import brainstate
    import jax
    import numpy as np
    import saiunit as u

    if precision == 64:
        jax.config.update("jax_enable_x64", True)
    brainstate.environ.set(precision=precision)
    import lapicque as lq
    from _run import run
    from registry import SPIKING_CURRENT_MA

    out = {"x64": bool(jax.config.jax_enable_x64), "dtypes": {}, "runs": {}}
    for name in names or lq.MODELS:
        model = lq.MODELS[name](len(scales))
        x = np.asarray(scales) * SPIKING_CURRENT_MA[name]
        spk, rec = run(model, np.broadcast_to(x, (n_steps, len(x))), dt=0.1 * u.ms)
        out["runs"][name] = {"spikes": spk.astype(int).tolist(), "V": rec["V"].astype(float).tolist()}
        out["dtypes"][name] = {k: str(u.get_mantissa(v).dtype) for k, v in model.state_dict().items()}
    # closed forms
    dt = 0.1
    lif = lq.LIF(1, tau=10. * u.ms, V_rest=-65. * u.mV, V_reset=-70. * u.mV, V_th=-50. * u.mV,
                 V_initializer=-70. * u.mV)
    _, rec = run(lif, np.full((n_steps, 1), 13.), dt=dt * u.ms)  # V_inf = -52 mV < V_th
    out["lif"] = rec["V"][:, 0].astype(float).tolist()
    alif = lq.ALIF(1, tau_a=100. * u.ms, a_initializer=3.)
    _, rec = run(alif, np.zeros((n_steps, 1)), dt=dt * u.ms, record=("a",))
    out["alif_a"] = rec["a"][:, 0].astype(float).tolist()
    gif = lq.Gif(1, k1=0.2 / u.ms, k2=0.02 / u.ms, I1_initializer=2. * u.mA, I2_initializer=-1. * u.mA)
    _, rec = run(gif, np.zeros((n_steps, 1)), dt=dt * u.ms, record=("I1", "I2"))
    out["gif_I1"] = rec["I1"][:, 0].astype(float).tolist()
    out["gif_I2"] = rec["I2"][:, 0].astype(float).tolist()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("precision", type=int, choices=(32, 64))
    p.add_argument("--steps", type=int, default=2000, help="steps of 0.1 ms")
    p.add_argument("--scales", default="0.8,1,1.5,3", help="multiples of each model's spiking current, one a neuron")
    p.add_argument("--names", default=None, help="comma-separated models (default: all)")
    a = p.parse_args(argv)
    scales = [float(s) for s in a.scales.split(",")]
    names = a.names.split(",") if a.names else None  # lapicque is imported only after the precision is set
    print("RESULT " + json.dumps(runs(a.precision, names, scales, a.steps)), flush=True)


if __name__ == "__main__":
    main()
