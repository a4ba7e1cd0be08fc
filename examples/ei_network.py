"""The COBA E/I network of Brette et al. (2007) in brainpy.state style, on lapicque (physiological units).

4,000 LIF neurons (80% excitatory), conductance synapses (6 nS / 67 nS, 5 ms / 10 ms), p = 0.02,
200 pA bias, 0.1 ms delay; prints the population rates (20-22 Hz; 53 Hz without the synapses).
With ``import brainpy.state as bp`` and ``brainstate.nn.EventFixedProb`` as comm it runs on brainpy.state.
"""
import time

import brainstate, braintools, saiunit as u
import lapicque as bp


class EINet(brainstate.nn.Module):
    def __init__(self, N=4000):
        super().__init__()
        self.n_e, K = int(0.8 * N), int(0.02 * N)
        self.pop = bp.LIFRef(N, R=100. * u.Mohm, tau=20. * u.ms, tau_ref=5. * u.ms, V_rest=-60. * u.mV,
                             V_th=-50. * u.mV, V_reset=-60. * u.mV, spk_reset='hard',
                             V_initializer=braintools.init.Normal(-55. * u.mV, 5. * u.mV))
        self.E = bp.AlignPostProj(comm=bp.FixedOutDegree(self.n_e, N, K, 6. * u.nS, seed=1),
                                  syn=bp.Expon.desc(N, tau=5. * u.ms), out=bp.COBA.desc(E=0. * u.mV),
                                  post=self.pop, delay=0.1 * u.ms)
        self.I = bp.AlignPostProj(comm=bp.FixedOutDegree(N - self.n_e, N, K, 67. * u.nS, seed=2),
                                  syn=bp.Expon.desc(N, tau=10. * u.ms), out=bp.COBA.desc(E=-80. * u.mV),
                                  post=self.pop, delay=0.1 * u.ms)
        self.EI = bp.FusedProj(self.E, self.I)  # both in one event-driven call per step (optional)

    def update(self, t):
        with brainstate.environ.context(t=t):
            self.EI(self.pop.get_spike() != 0.)  # or: self.E(spk[:self.n_e]); self.I(spk[self.n_e:])
            self.pop(200. * u.pA)
            return self.pop.get_spike() != 0.


if __name__ == "__main__":
    brainstate.environ.set(dt=0.1 * u.ms)
    net = EINet()
    brainstate.nn.init_all_states(net)
    t0 = time.perf_counter()
    spikes = brainstate.transform.for_loop(net.update, u.math.arange(10000) * brainstate.environ.get_dt())
    n_e = net.n_e
    print(f"E {spikes[:, :n_e].sum() / n_e:.1f} Hz, I {spikes[:, n_e:].sum() / (4000 - n_e):.1f} Hz "
          f"over 1 s ({time.perf_counter() - t0:.1f} s wall, compilation included)")
