"""COBA network of Brette et al. (2007) / Vogels & Abbott (2005), as brainpy.state's published example.

Equivalent of https://github.com/brainpy/BrainPy/blob/master/examples_state/103_COBA_2005.py
(Apache-2.0, Copyright 2024 BrainX Ecosystem Limited), written for this benchmark (not a copy): the same
classes, parameters, connectivity (``brainstate.nn.EventFixedProb``), input and ``for_loop``; plotting left
out.  ``bp`` is ``brainpy.state`` or ``lapicque``: the only line a port changes.  Note the example's own units
(0.6 / 6.7 mS on a 1-ohm LIF): its synapses barely act (see NETWORKS.md, "Pitfalls").
"""

import brainstate
import braintools
import saiunit as u

SOURCE = "https://github.com/brainpy/BrainPy/blob/master/examples_state/103_COBA_2005.py"
DURATION_MS = 1000.


def build(bp):
    class EINet(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.n_exc, self.n_inh = 3200, 800
            self.num = self.n_exc + self.n_inh
            self.N = bp.LIFRef(self.num, V_rest=-60. * u.mV, V_th=-50. * u.mV, V_reset=-60. * u.mV,
                               tau=20. * u.ms, tau_ref=5. * u.ms,
                               V_initializer=braintools.init.Normal(-55., 2., unit=u.mV))
            self.E = bp.AlignPostProj(
                comm=brainstate.nn.EventFixedProb(self.n_exc, self.num, conn_num=0.02, conn_weight=0.6 * u.mS),
                syn=bp.Expon.desc(self.num, tau=5. * u.ms), out=bp.COBA.desc(E=0. * u.mV), post=self.N)
            self.I = bp.AlignPostProj(
                comm=brainstate.nn.EventFixedProb(self.n_inh, self.num, conn_num=0.02, conn_weight=6.7 * u.mS),
                syn=bp.Expon.desc(self.num, tau=10. * u.ms), out=bp.COBA.desc(E=-80. * u.mV), post=self.N)

        def update(self, t, inp):
            with brainstate.environ.context(t=t):
                spk = self.N.get_spike() != 0.
                self.E(spk[:self.n_exc])
                self.I(spk[self.n_exc:])
                self.N(inp)
                return self.N.get_spike()

    net = EINet()
    brainstate.nn.init_all_states(net)
    times = u.math.arange(0. * u.ms, DURATION_MS * u.ms, brainstate.environ.get_dt())

    def run():
        brainstate.nn.init_all_states(net)
        return brainstate.transform.for_loop(lambda t: net.update(t, 20. * u.mA), times)

    return run, lambda spikes: {"all": spikes}
