"""Shared parts of the Susin & Destexhe (2021) gamma-oscillation networks of brainpy.state's published examples.

Equivalent of https://github.com/brainpy/BrainPy/blob/master/examples_state/Susin_Destexhe_2021_gamma_oscillation.py
(Apache-2.0, Copyright 2024 BrainX Ecosystem Limited), written for this benchmark (not a copy): the user-defined
adaptive exponential neuron (a subclass of ``bp.Neuron`` with conductances ``ge``/``gi`` fed by ``DeltaProj``
labels), the cell parameters of the paper's Table 1, and a network builder driven by a table of populations
and projections (Poisson drive through ``bp.PoissonEncoder``; recurrent ``bp.DeltaProj`` from
``pop.prefetch('spike').delay.at(1.5 ms)``; all comms ``brainstate.nn.EventFixedProb``).
"""

import brainstate
import braintools
import saiunit as u

RS = dict(Vth=-40 * u.mV, delta=2. * u.mV, tau_ref=5. * u.ms, tau_w=500 * u.ms, a=4 * u.nS, b=20 * u.pA,
          C=150 * u.pF, gL=10 * u.nS, EL=-65 * u.mV, V_reset=-65 * u.mV, E_e=0. * u.mV, E_i=-80. * u.mV)
FS = dict(RS, delta=0.5 * u.mV, Vth=-47.5 * u.mV, a=0 * u.nS, b=0 * u.pA)
CH = dict(RS, delta=0.5 * u.mV, Vth=-47.5 * u.mV, tau_ref=1. * u.ms, tau_w=50 * u.ms, a=80 * u.nS,
          b=150 * u.pA, EL=-58 * u.mV)


def adex_class(bp):
    """The example's AdEx neuron, on library ``bp``'s ``Neuron`` base class."""

    class AdEx(bp.Neuron):
        def __init__(self, in_size, Vth, delta, tau_ref, tau_w, a, b, C, gL, EL, V_reset, E_e, E_i,
                     V_sp_th=-40. * u.mV, tau_e=1.5 * u.ms, tau_i=7.5 * u.ms):
            super().__init__(in_size=in_size)
            self.Vth, self.delta, self.tau_ref, self.tau_w, self.a, self.b = Vth, delta, tau_ref, tau_w, a, b
            self.C, self.gL, self.EL, self.V_reset, self.V_sp_th = C, gL, EL, V_reset, V_sp_th
            self.tau_e, self.tau_i, self.E_e, self.E_i = tau_e, tau_i, E_e, E_i

        def init_state(self, *args, **kwargs):
            shape = self.varshape
            self.V = brainstate.HiddenState(braintools.init.param(braintools.init.Uniform(-65., -50., unit=u.mV),
                                                                  shape))
            self.w = brainstate.HiddenState(u.math.zeros(shape) * u.pA)
            self.ge = brainstate.HiddenState(u.math.zeros(shape) * u.nS)
            self.gi = brainstate.HiddenState(u.math.zeros(shape) * u.nS)
            self.t_last_spike = brainstate.HiddenState(u.math.ones(shape) * -1e7 * u.ms)
            self.spike = brainstate.HiddenState(u.math.zeros(shape, dtype=bool))

        def dV(self, V, w, ge, gi, Iext):
            I_syn = ge * (self.E_e - V) + gi * (self.E_i - V)
            exp_term = self.gL * self.delta * u.math.exp((V - self.Vth) / self.delta)
            return (exp_term - w + self.gL * (self.EL - V) + I_syn + self.sum_current_inputs(Iext)) / self.C

        def dw(self, w, V):
            return (self.a * (V - self.EL) - w) / self.tau_w

        def update(self, x=0. * u.pA):
            ge = self.sum_delta_inputs(brainstate.nn.exp_euler_step(lambda g: -g / self.tau_e, self.ge.value),
                                       label='ge')
            gi = self.sum_delta_inputs(brainstate.nn.exp_euler_step(lambda g: -g / self.tau_i, self.gi.value),
                                       label='gi')
            V = brainstate.nn.exp_euler_step(self.dV, self.V.value, self.w.value, self.ge.value, self.gi.value, x)
            V = self.sum_delta_inputs(V, label='V')
            w = brainstate.nn.exp_euler_step(self.dw, self.w.value, self.V.value)
            t = brainstate.environ.get('t')
            V = u.math.where((t - self.t_last_spike.value) <= self.tau_ref, self.V.value, V)
            spike = V >= self.V_sp_th
            self.V.value = u.math.where(spike, self.V_reset, V)
            self.w.value = u.math.where(spike, w + self.b, w)
            self.ge.value, self.gi.value, self.spike.value = ge, gi, spike
            self.t_last_spike.value = u.math.where(spike, t, self.t_last_spike.value)
            return spike

    return AdEx


def ramp_rates(low, high, duration_ms, dt_ms=0.1, ramp_ms=50., gap_ms=600., plateau_ms=300.):
    """Input rate (Hz) per step: low, a ramp up, a plateau at high, a ramp down, repeated (deterministic)."""
    import numpy as np
    n = lambda ms: int(round(ms / dt_ms))  # noqa: E731
    cycle = np.concatenate([np.full(n(gap_ms), low), np.linspace(low, high, n(ramp_ms)),
                            np.full(n(plateau_ms), high), np.linspace(high, low, n(ramp_ms))])
    steps = n(duration_ms)
    return np.tile(cycle, steps // cycle.size + 1)[:steps] * u.Hz


def build_net(bp, pops, ext_pop, ext, recurrent, taus, low, high, duration_ms):
    """``pops``: {name: (n, params)}; ``ext``: [(target, p, w)]; ``recurrent``: [(source, target, p, w, label)]."""
    AdEx = adex_class(bp)

    class Net(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.pops = {k: AdEx(n, tau_e=taus[0], tau_i=taus[1], **dict(par, Vth=-50 * u.mV, V_sp_th=-40 * u.mV))
                         for k, (n, par) in pops.items()}
            n_ext = pops[ext_pop][0]
            self.ext_pop = bp.PoissonEncoder(n_ext)
            self.ext = [bp.DeltaProj(comm=brainstate.nn.EventFixedProb(n_ext, pops[t][0], p, w), post=self.pops[t],
                                     label='ge') for t, p, w in ext]
            self.rec = [bp.DeltaProj(self.pops[s].prefetch('spike').delay.at(1.5 * u.ms),
                                     comm=brainstate.nn.EventFixedProb(pops[s][0], pops[t][0], p, w),
                                     post=self.pops[t], label=label) for s, t, p, w, label in recurrent]

        def update(self, i, t, freq):
            with brainstate.environ.context(t=t, i=i):
                ext_spikes = self.ext_pop(freq)
                for proj in self.ext:
                    proj(ext_spikes)
                for proj in self.rec:
                    proj()
                for pop in self.pops.values():
                    pop()
                return {k: pop.spike.value for k, pop in self.pops.items()}

    net = Net()
    brainstate.nn.init_all_states(net)
    rates = ramp_rates(low, high, duration_ms)
    times = u.math.arange(rates.shape[0]) * brainstate.environ.get_dt()
    indices = u.math.arange(rates.shape[0])

    def run():
        brainstate.nn.init_all_states(net)
        return brainstate.transform.for_loop(net.update, indices, times, rates)

    return run, lambda out: out
