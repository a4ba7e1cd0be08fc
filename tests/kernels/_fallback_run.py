"""The run of ``test_event_kernels.py::test_forced_fallback_gives_identical_results``, in a process of its own.

The native event kernel is chosen once per process (``LAPICQUE_NATIVE_KERNEL``), so the test runs this
script twice, with the variable 1 and 0, and compares the arrays they save.  By hand, from the
repository root::

    LAPICQUE_NATIVE_KERNEL=0 python tests/kernels/_fallback_run.py /tmp/fallback.npz

It simulates an E/I network with STP on E -> E (event values) and plain spikes elsewhere, then three
direct products (values, bool spikes, float spikes); saves E's and I's spikes, two conductances, E's V
and the three products to the ``.npz`` file given, and prints one ``RESULT <json>`` line: whether the
native kernel is available and whether a compiled product calls it.
"""

import json
import sys

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

import lapicque as lq
from lapicque._kernels.event import event_csr_matvec, native_available

brainstate.environ.set(dt=0.1 * u.ms)


class Net(brainstate.nn.Module):
    """E/I with STP on E -> E (event values) and plain spikes elsewhere."""

    def __init__(self, n_e=160, n_i=40):
        super().__init__()
        lif = dict(R=100. * u.Mohm, tau=20. * u.ms, tau_ref=5. * u.ms, V_rest=-60. * u.mV, V_th=-50. * u.mV,
                   V_reset=-60. * u.mV, V_initializer=lambda s, b=None: -60. * u.mV + 10. * u.mV *
                   jnp.asarray(np.random.default_rng(0).random(s), jnp.float32))
        self.E, self.I = lq.LIFRef(n_e, **lif), lq.LIFRef(n_i, **lif)

        def proj(pre, post, w, tau, E, seed, *mods):
            return lq.AlignPostProj(*mods, comm=lq.FixedOutDegree(pre.varshape[0], post.varshape[0], 8, w, seed=seed),
                                    syn=lq.Expon.desc(post.varshape[0], tau=tau), out=lq.COBA.desc(E=E), post=post)
        self.EE = proj(self.E, self.E, 6. * u.nS, 5. * u.ms, 0. * u.mV, 1, lq.STP(n_e, U=0.2, tau_f=200. * u.ms))
        self.EI = proj(self.E, self.I, 6. * u.nS, 5. * u.ms, 0. * u.mV, 2)
        self.IE = proj(self.I, self.E, 67. * u.nS, 10. * u.ms, -80. * u.mV, 3)
        self.II = lq.AlignPostProj(comm=lq.FixedOutDegree(n_i, n_i, 8, 67. * u.nS, seed=4), syn=lq.Expon.desc(
            n_i, tau=10. * u.ms), out=lq.COBA.desc(E=-80. * u.mV), post=self.I)

    def step(self, k):
        with brainstate.environ.context(t=k * 0.1 * u.ms):
            se, si = self.E.get_spike(), self.I.get_spike() != 0.  # float spikes and bool spikes
            self.EE(se), self.EI(se), self.IE(si), self.II(si)
            self.E(210. * u.pA), self.I(210. * u.pA)
            return (self.E.get_spike() != 0., self.I.get_spike() != 0., self.EE.syn.g.value.to_decimal(u.nS),
                    self.IE.syn.g.value.to_decimal(u.nS), self.E.V.value.to_decimal(u.mV))


def main(path):
    net = Net()
    brainstate.nn.init_all_states(net)
    out = brainstate.transform.for_loop(net.step, jnp.arange(1500))
    rng = np.random.default_rng(1)
    ip = np.concatenate([[0], np.cumsum(rng.poisson(6, 300))]).astype(np.int32)
    ix = rng.integers(0, 70, ip[-1]).astype(np.int32)
    vals = ((rng.random((3, 300)) < 0.2) * rng.random((3, 300))).astype(np.float32)
    f = jax.jit(lambda s: event_csr_matvec(s, ip, ix, jnp.float32(0.7), 70))
    direct = [f(vals), f(vals > 0), f(vals != 0.)]
    np.savez(path, *[np.asarray(a) for a in out], *[np.asarray(a) for a in direct])
    print("RESULT " + json.dumps({"native": native_available(),
                                  "target": "lapicque_event_csr_matvec" in f.lower(vals).as_text()}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT.npz")
    main(sys.argv[1])
