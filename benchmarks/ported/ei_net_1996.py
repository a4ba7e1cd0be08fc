"""Balanced E/I network (van Vreeswijk & Sompolinsky 1996), as brainpy.state's published example.

Equivalent of https://github.com/brainpy/BrainPy/blob/master/examples_state/102_EI_net_1996.py
(Apache-2.0, Copyright 2024 BrainX Ecosystem Limited), written for this benchmark (not a copy): LIF with a
soft reset, 500 + 500 neurons, ``brainstate.nn.EventFixedProb`` with p = 0.1 and weights +-1/sqrt(p N) mS,
exponential synapses (2 ms) with a CUBA output, 3 mA input, 1 s in ``for_loop``.  ``bp`` is ``brainpy.state``
or ``lapicque``.
"""

import brainstate
import braintools
import saiunit as u

SOURCE = "https://github.com/brainpy/BrainPy/blob/master/examples_state/102_EI_net_1996.py"
DURATION_MS = 1000.


def build(bp):
    n_exc = n_inh = 500
    prob = 0.1
    JE = 1 / u.math.sqrt(prob * n_exc) * u.mS
    JI = -1 / u.math.sqrt(prob * n_inh) * u.mS

    class EINet(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.n_exc, self.num = n_exc, n_exc + n_inh
            self.N = bp.LIF(self.num, V_rest=-52. * u.mV, V_th=-50. * u.mV, V_reset=-60. * u.mV, tau=10. * u.ms,
                            V_initializer=braintools.init.Normal(-60., 10., unit=u.mV), spk_reset='soft')
            self.E = bp.AlignPostProj(comm=brainstate.nn.EventFixedProb(n_exc, self.num, prob, JE),
                                      syn=bp.Expon.desc(self.num, tau=2. * u.ms), out=bp.CUBA.desc(), post=self.N)
            self.I = bp.AlignPostProj(comm=brainstate.nn.EventFixedProb(n_inh, self.num, prob, JI),
                                      syn=bp.Expon.desc(self.num, tau=2. * u.ms), out=bp.CUBA.desc(), post=self.N)

        def update(self, inp):
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
        return brainstate.transform.for_loop(lambda t: net.update(3. * u.mA), times)

    return run, lambda spikes: {"all": spikes}
