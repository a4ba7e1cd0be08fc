"""Fixed runs of the six models of issue 23 (Izhikevich, IzhikevichRef, FitzHughNagumo, HindmarshRose, CubaLIF,
CobaLIF), in brainpy.state or in lapicque, reduced to a digest: per neuron the spike count, the sum of the spike
steps (which moves with every spike time) and the final value of every state.

The tests compare lapicque's digest with the one brainpy.state 2.9.0 printed (the numbers in ``REFERENCE_29``
of ``test_izhikevich.py``, ``test_reduced.py`` and ``test_synaptic_lif.py``).  To print them again, with a
Python that has brainpy 2.9.0 (the scenarios use nothing but brainstate, saiunit/brainunit and numpy)::

    python tests/neurons/_brainpy29_digest.py brainpy.state    # the reference's numbers (JSON)
    python tests/neurons/_brainpy29_digest.py lapicque         # lapicque's, for a look

The inputs are closed formulas (no random numbers, so no generator version matters) and every scenario stays
away from bifurcations and chaos, so float32 rounding differences between JAX versions do not move a spike.
"""

import importlib
import json
import sys

import brainstate
import jax.numpy as jnp
import numpy as np

try:
    import saiunit as u
except ImportError:  # pragma: no cover - the reference's own environment
    import brainunit as u

_LAPICQUE = {"Izhikevich": "izhikevich", "IzhikevichRef": "izhikevich", "FitzHughNagumo": "reduced",
             "HindmarshRose": "reduced", "CubaLIF": "synaptic_lif", "CobaLIF": "synaptic_lif"}


def model_class(package: str, name: str):
    """The class ``name`` of ``brainpy.state`` or of lapicque (its private module, exported or not)."""
    if package == "lapicque":
        return getattr(importlib.import_module(f"lapicque._neurons.{_LAPICQUE[name]}"), name)
    return getattr(importlib.import_module(package), name)


def _scenarios():
    """name -> (class name, kwargs, n, dt (ms), steps, x(k) per neuron, input unit, delta input (i) or None)."""
    mv_ms = u.mV / u.ms
    k16 = np.arange(16, dtype=np.float32)
    return {
        "Izhikevich": ("Izhikevich", {}, 16, 0.01, 20000, 2. + k16, mv_ms, None),
        "IzhikevichRef": ("IzhikevichRef", {"tau_ref": 1.955 * u.ms}, 16, 0.01, 20000, 5. + 5. * k16, mv_ms, None),
        "FitzHughNagumo": ("FitzHughNagumo", {}, 16, 0.05, 20000, 0.1 * k16, None, None),
        "HindmarshRose": ("HindmarshRose", {}, 4, 0.01, 50000, np.array([1., 1.5, 2., 2.5], np.float32), None,
                          None),
        "CubaLIF": ("CubaLIF", {}, 16, 0.1, 5000, 0.5 + 0.05 * k16, u.mA,
                    lambda i: 0.3 * u.mA * (i % 13 == 0)),
        "CobaLIF": ("CobaLIF", {"E": 5. * u.mV}, 16, 0.1, 5000, 0.2 + 0.05 * k16, u.mA,
                    lambda i: 0.4 * u.siemens * (i % 17 == 0)),
    }


def run(package: str, scenario: str):
    """The digest of one scenario: {'count': [...], 'stepsum': [...], state name: [final values]}."""
    cls_name, kwargs, n, dt_ms, steps, x, unit, delta = _scenarios()[scenario]
    model = model_class(package, cls_name)(n, **kwargs)
    dt = dt_ms * u.ms
    x = jnp.asarray(x) if unit is None else jnp.asarray(x) * unit
    with brainstate.environ.context(dt=dt):
        model.init_state()
        names = [k for k in ("V", "u", "w", "y", "z", "g") if isinstance(getattr(model, k, None), brainstate.State)]

        def step(i):
            with brainstate.environ.context(t=i * dt):
                if delta is not None:
                    model.add_delta_input("kick", delta(i))
                spk = model.update(x)
            return spk.astype(jnp.float32) * (i + 1)

        marked = brainstate.transform.for_loop(step, jnp.arange(steps))
    marked = np.rint(np.asarray(marked)).astype(np.int64)
    out = {"count": (marked > 0).sum(0).tolist(), "stepsum": marked.sum(0).tolist()}
    for k in names:
        out[k] = np.round(np.asarray(u.get_mantissa(getattr(model, k).value), dtype=float), 5).tolist()
    return out


def main(package: str):
    print(json.dumps({name: run(package, name) for name in _scenarios()}))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "brainpy.state")
