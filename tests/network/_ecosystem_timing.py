"""Per-call cost of brainstate's EventFixedProb on brainevent vs the same comm adopted by lapicque (a measurement).

``python tests/network/_ecosystem_timing.py [T] [repeats]``: the E/I network's excitatory comm (3200 -> 4000,
exactly 80 targets per presynaptic neuron, 6 nS shared or per edge), 20 spikes per call (bool or 0/1 float),
called T times inside one compiled ``brainstate.transform.for_loop`` that sums the outputs.  The cost per call is
the loop's time minus the same loop with the comm replaced by a broadcast of its first input (the floor), over T; the minimum over
``repeats`` interleaved runs.  Prints one ``RESULT <json>`` line (microseconds per call).
"""

import json
import sys
import time
import warnings

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from lapicque._network.ecosystem import AdoptedComm, adopt_comm

N_PRE, N_POST, K, N_SPIKES = 3200, 4000, 80, 20


def spike_trains(steps, seed=0):
    """(steps, N_PRE) bool, exactly N_SPIKES True per step."""
    rng = np.random.default_rng(seed)
    s = np.zeros((steps, N_PRE), bool)
    for t in range(steps):
        s[t, rng.choice(N_PRE, N_SPIKES, replace=False)] = True
    return jnp.asarray(s)


def looped(comm):
    """A compiled function running ``comm`` over every row of its input and summing the outputs."""
    @brainstate.transform.jit
    def run(xs):
        def step(acc, x):
            return acc + u.get_mantissa(comm(x)), None

        acc, _ = brainstate.transform.scan(step, jnp.zeros(N_POST, jnp.float32), xs)
        return acc

    return run


def timed(fn, xs):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(xs))
    return time.perf_counter() - t0


def main(steps=4000, repeats=7):
    warnings.simplefilter("ignore", DeprecationWarning)
    bool_xs = spike_trains(steps)
    float_xs = bool_xs.astype(jnp.float32)
    per_edge = lambda shape: jnp.full(shape, 6.) * u.nS  # noqa: E731  (one weight per edge)
    cases = {}
    for wname, w in (("shared", 6. * u.nS), ("per-edge", per_edge)):
        original = brainstate.nn.EventFixedProb(N_PRE, N_POST, conn_num=K, conn_weight=w, seed=1)
        adopted = adopt_comm(original)
        assert isinstance(adopted, AdoptedComm)
        for xname, xs in (("bool", bool_xs), ("float", float_xs)):
            cases[f"{wname}/{xname}/brainevent"] = (looped(original), xs)
            cases[f"{wname}/{xname}/lapicque"] = (looped(adopted), xs)
    cases["floor"] = (looped(lambda x: jnp.zeros(N_POST, jnp.float32) + x[0]), bool_xs)  # reads x, writes N_POST
    for fn, xs in cases.values():
        timed(fn, xs)  # compile
    best = {name: min(timed(fn, xs) for _ in range(1)) for name, (fn, xs) in cases.items()}
    for _ in range(repeats - 1):
        for name, (fn, xs) in cases.items():
            best[name] = min(best[name], timed(fn, xs))
    floor = best.pop("floor")
    us = {name: round((t - floor) / steps * 1e6, 2) for name, t in best.items()}
    ratios = {key.rsplit("/", 1)[0]: round(us[key] / max(us[key.replace("brainevent", "lapicque")], 1e-3), 1)
              for key in us if key.endswith("brainevent")}
    return {"us_per_call": us, "speedup": ratios, "floor_us_per_step": round(floor / steps * 1e6, 2),
            "steps": steps, "brainstate": brainstate.__version__,
            "brainevent": __import__("brainevent").__version__, "jax": jax.__version__}


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    print("RESULT " + json.dumps(main(*args)))
