"""Fast global oscillations of sparsely firing LIF neurons (Brunel & Hakim 1999), as brainpy.state's example.

Equivalent of https://github.com/brainpy/BrainPy/blob/master/examples_state/109_fast_global_oscillation.py
(Apache-2.0, Copyright 2024 BrainX Ecosystem Limited), written for this benchmark (not a copy): a user-defined
noisy LIF (a ``bp.Neuron`` subclass integrated by ``brainstate.nn.exp_euler_step`` with a noise term),
5,000 neurons, ``brainstate.nn.EventFixedProb`` with p = 0.2 and weight -0.1 mV through ``bp.DeltaProj``,
a 2 ms ``brainstate.nn.Delay`` of bool spikes, 100 ms in ``for_loop``.
"""

import brainstate
import braintools
import jax
import saiunit as u

SOURCE = "https://github.com/brainpy/BrainPy/blob/master/examples_state/109_fast_global_oscillation.py"
DURATION_MS = 100.
Vr, theta, tau, delta, taurefr = 10. * u.mV, 20. * u.mV, 20. * u.ms, 2. * u.ms, 2. * u.ms
J, muext, sigmaext = .1 * u.mV, 25. * u.mV, 1.0 * u.mV
N, C = 5000, 1000


def build(bp):
    class NoisyLIF(bp.Neuron):
        def init_state(self, *args, **kwargs):
            self.V = brainstate.HiddenState(braintools.init.param(braintools.init.Constant(Vr), self.varshape))
            self.t_last_spike = brainstate.ShortTermState(
                braintools.init.param(braintools.init.Constant(-1e7 * u.ms), self.varshape))

        def update(self):
            drift = lambda V: (-V + self.sum_current_inputs(muext, V)) / tau  # noqa: E731
            noise = lambda V: sigmaext / u.math.sqrt(tau)  # noqa: E731
            V = self.sum_delta_inputs(brainstate.nn.exp_euler_step(drift, noise, self.V.value))
            t = brainstate.environ.get('t')
            V = u.math.where((t - self.t_last_spike.value) <= taurefr, self.V.value, V)
            spike = V >= theta
            self.V.value = u.math.where(spike, Vr, V)
            self.t_last_spike.value = u.math.where(spike, t, self.t_last_spike.value)
            return spike

    class Net(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.group = NoisyLIF(N)
            self.delay = brainstate.nn.Delay(jax.ShapeDtypeStruct((N,), bool), delta)
            self.syn = bp.DeltaProj(comm=brainstate.nn.EventFixedProb(N, N, C / N, -J), post=self.group)

        def update(self, t, i):
            with brainstate.environ.context(t=t, i=i):
                steps = jax.numpy.asarray(delta / brainstate.environ.get_dt(), dtype=int)
                self.syn(self.delay.retrieve_at_step(steps))
                spike = self.group()
                self.delay(spike)
                return spike

    net = Net()
    brainstate.nn.init_all_states(net)
    times = u.math.arange(0. * u.ms, DURATION_MS * u.ms, brainstate.environ.get_dt())
    indices = u.math.arange(times.size)

    def run():
        brainstate.nn.init_all_states(net)
        return brainstate.transform.for_loop(net.update, times, indices)

    return run, lambda spikes: {"all": spikes}
