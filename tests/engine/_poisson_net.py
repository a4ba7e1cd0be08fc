"""A small Poisson-driven E/I network, written brainpy.state-style, and the checks of issue 25 on it.

Imported by ``test_run_states.py``; run as a script (``python tests/_poisson_net.py``) it does the same
checks on whatever devices JAX has (the test starts it on 4 simulated CPU devices) and prints one
``RESULT <json>`` line.
"""

import json
import sys

import brainstate
import braintools
import jax
import numpy as np
import saiunit as u

import lapicque as lq

N, N_E = 400, 320
T = 50. * u.ms


class PoissonEI(brainstate.nn.Module):
    """LIFRef E/I population, recurrent conductances, external drive from PoissonSpike and PoissonInput."""

    def __init__(self, w_ext=0.6, seed=1):
        super().__init__()
        self.pop = lq.LIFRef(N, R=100. * u.Mohm, tau=20. * u.ms, tau_ref=2. * u.ms, V_rest=-60. * u.mV,
                             V_th=-50. * u.mV, V_reset=-60. * u.mV,
                             V_initializer=braintools.init.Normal(-57. * u.mV, 2. * u.mV))
        self.src = lq.PoissonSpike(100, freqs=40. * u.Hz)
        self.ext = lq.AlignPostProj(comm=lq.FixedOutDegree(100, N, 40, 2. * u.nS, seed=seed),
                                    syn=lq.Expon.desc(N, tau=5. * u.ms), out=lq.COBA.desc(E=0. * u.mV), post=self.pop)
        self.rec = lq.AlignPostProj(comm=lq.FixedOutDegree(N, N, 20, 1. * u.nS, seed=seed + 1),
                                    syn=lq.Expon.desc(N, tau=5. * u.ms), out=lq.COBA.desc(E=0. * u.mV), post=self.pop)
        self.drive = lq.PoissonInput(self.pop.prefetch('V'), None, num_input=40, freq=20. * u.Hz,
                                     weight=w_ext * u.mV)

    def update(self):
        self.ext(self.src())
        self.rec(self.pop.get_spike() != 0)
        self.drive()
        return self.pop(0. * u.pA)


def raster(net, seed=None, devices=None):
    if seed is not None:
        brainstate.random.seed(seed)
    return np.asarray(lq.simulate(net, None, T, dt=0.1 * u.ms, devices=devices)["pop"].spike_raster())


def checks(devices=None):
    """Two fresh runs, a re-seeded run, a sweep of weights; then the global random functions."""
    from lapicque._engine.cache import COMPILED
    COMPILED.clear()
    a = raster(PoissonEI(), 11, devices)
    b = raster(PoissonEI(), 11, devices)
    c = raster(PoissonEI(), 12, devices)
    sweep = [int(raster(PoissonEI(w), 13, devices).sum()) for w in (0.2, 0.4, 0.6, 0.8, 1.0)]
    compiled = len(COMPILED)
    normal = np.asarray(brainstate.random.normal(size=3))
    init = np.asarray(braintools.init.Normal(0., 1.)((4,)))
    return {"same_seed_identical": bool((a == b).all()), "reseeded_differs": bool((a != c).any()),
            "spikes": int(a.sum()), "sweep": sweep, "compiled": compiled,
            "random_after": bool(np.isfinite(normal).all() and np.isfinite(init).all())}


if __name__ == "__main__":
    brainstate.environ.set(dt=0.1 * u.ms)
    print("RESULT " + json.dumps({"devices": jax.device_count(), **checks(devices=int(sys.argv[1]))}))
