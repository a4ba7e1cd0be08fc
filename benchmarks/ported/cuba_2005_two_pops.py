"""CUBA network with separate E and I populations and four projections, as brainpy.state's published example.

Equivalent of https://github.com/brainpy/BrainPy/blob/master/examples_state/104_CUBA_2005_version2.py
(Apache-2.0, Copyright 2024 BrainX Ecosystem Limited), written for this benchmark (not a copy): two ``LIFRef``
groups (3200 E, 800 I), projections ``AlignPostProj(pre.prefetch('V'), spike function, comm=EventFixedProb,
syn=Expon.desc, out=CUBA.desc(scale=volt), post=...)`` E->E, E->I, I->E, I->I, 20 mA input, 1 s in
``for_loop``.  ``bp`` is ``brainpy.state`` or ``lapicque``.
"""

import brainstate
import braintools
import saiunit as u

SOURCE = "https://github.com/brainpy/BrainPy/blob/master/examples_state/104_CUBA_2005_version2.py"
DURATION_MS = 1000.


def build(bp):
    def lif(n):
        return bp.LIFRef(n, V_rest=-49. * u.mV, V_th=-50. * u.mV, V_reset=-60. * u.mV, tau=20. * u.ms,
                         tau_ref=5. * u.ms, V_initializer=braintools.init.Normal(-55. * u.mV, 2. * u.mV))

    def proj(pre, post, n_pre, n_post, w, tau):
        return bp.AlignPostProj(pre.prefetch('V'), lambda x: pre.get_spike(x) != 0.,
                                comm=brainstate.nn.EventFixedProb(n_pre, n_post, conn_num=0.02, conn_weight=w),
                                syn=bp.Expon.desc(n_post, tau=tau), out=bp.CUBA.desc(scale=u.volt), post=post)

    class EINet(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            ne, ni = 3200, 800
            self.E, self.I = lif(ne), lif(ni)
            self.E2E = proj(self.E, self.E, ne, ne, 1.62 * u.mS, 5. * u.ms)
            self.E2I = proj(self.E, self.I, ne, ni, 1.62 * u.mS, 5. * u.ms)
            self.I2E = proj(self.I, self.E, ni, ne, -9.0 * u.mS, 10. * u.ms)
            self.I2I = proj(self.I, self.I, ni, ni, -9.0 * u.mS, 10. * u.ms)

        def update(self, t):
            with brainstate.environ.context(t=t):
                self.E2E()
                self.E2I()
                self.I2E()
                self.I2I()
                self.E(20. * u.mA)
                self.I(20. * u.mA)
                return self.E.get_spike()

    net = EINet()
    brainstate.nn.init_all_states(net)
    times = u.math.arange(0. * u.ms, DURATION_MS * u.ms, brainstate.environ.get_dt())

    def run():
        brainstate.nn.init_all_states(net)
        return brainstate.transform.for_loop(net.update, times)

    return run, lambda spikes: {"E": spikes}
