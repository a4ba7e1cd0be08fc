"""A small E/I network of two populations, for the multi-device tests (imported by their subprocesses)."""

import braintools
import brainstate
import saiunit as u

import lapicque as lq


def _lif(n):
    return lq.LIFRef(n, R=100. * u.Mohm, tau=20. * u.ms, tau_ref=5. * u.ms, V_rest=-60. * u.mV, V_th=-50. * u.mV,
                     V_reset=-60. * u.mV, spk_reset="hard",
                     V_initializer=braintools.init.Normal(-55. * u.mV, 5. * u.mV))


class EINet(brainstate.nn.Module):
    """Brette et al.'s COBA network as two populations E and I, four projections, one delay for all."""

    def __init__(self, n_e=768, n_i=256, delay=0.1 * u.ms, k=20):
        super().__init__()
        self.E, self.I = _lif(n_e), _lif(n_i)

        def proj(pre, post, w, tau, E, seed):
            return lq.AlignPostProj(comm=lq.FixedOutDegree(pre.varshape[0], post.varshape[0], k, w, seed=seed),
                                    syn=lq.Expon.desc(post.varshape[0], tau=tau), out=lq.COBA.desc(E=E),
                                    post=post, delay=delay)
        self.EE = proj(self.E, self.E, 6. * u.nS, 5. * u.ms, 0. * u.mV, 1)
        self.EI = proj(self.E, self.I, 6. * u.nS, 5. * u.ms, 0. * u.mV, 2)
        self.IE = proj(self.I, self.E, 67. * u.nS, 10. * u.ms, -80. * u.mV, 3)
        self.II = proj(self.I, self.I, 67. * u.nS, 10. * u.ms, -80. * u.mV, 4)

    def update(self):
        se, si = self.E.get_spike() != 0., self.I.get_spike() != 0.
        self.EE(se)
        self.EI(se)
        self.IE(si)
        self.II(si)
        self.E(200. * u.pA)
        self.I(200. * u.pA)


def same_start(delay, devices, duration=100. * u.ms, **kwargs):
    """The unsharded and the sharded run of one network from the same initial state: (a, b, net)."""
    import lapicque as lq
    brainstate.environ.set(dt=0.1 * u.ms)
    brainstate.random.seed(2007)  # every process draws the same initial state
    net = EINet(delay=delay)
    brainstate.nn.init_all_states(net)
    start = {k: v.value for k, v in net.states().items()}
    a = lq.simulate(net, None, duration, init=False, **kwargs)
    for k, v in net.states().items():
        v.value = start[k]
    b = lq.simulate(net, None, duration, init=False, devices=devices, **kwargs)
    return a, b, net
