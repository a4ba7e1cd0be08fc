"""A brainpy.state synfire-chain script (Diesmann et al. 1999), ported by changing one import.

The published ``brainpy.state`` example, with two edits that its own reference needs to run
today (brainpy 2.9.0): no ``need_sort=False`` (``SpikeTime`` no longer takes it; lapicque
accepts it) and a functional update of the delayed input instead of item assignment on a
Quantity (which saiunit refuses inside a compiled loop).  Everything else is the script's:
its own ``Neuron`` and ``Synapse`` subclasses, ``brainstate.nn.Delay``, noise through
``brainstate.nn.exp_euler_step`` and a ``SpikeTime`` pulse packet, run by ``for_loop`` with
``t`` and ``i`` in the environment.  ``tests/network/test_stimuli.py`` runs this file as it is
and with the import line below changed back to ``import brainpy.state as bp``.
"""

import brainstate
import jax
import saiunit as u

import lapicque as bp  # was: import brainpy.state as bp

duration = 100. * u.ms

# neuron model parameters
Vr = -70. * u.mV
Vt = -55. * u.mV
tau_m = 10. * u.ms
tau_ref = 1. * u.ms
tau_psp = 0.325 * u.ms
weight = 4.86 * u.mV
noise = 39.24 * u.mV
spike_sigma = 1. * u.ms

# groups and delay
n_groups = 10
group_size = 100
delay = 5.0 * u.ms


class Population(bp.Neuron):
    def __init__(self, in_size, **kwargs):
        super().__init__(in_size, **kwargs)

    def init_state(self, *args, **kwargs):
        self.V = brainstate.HiddenState(Vr + brainstate.random.random(self.varshape) * (Vt - Vr))
        self.x = brainstate.HiddenState(u.math.zeros(self.varshape) * u.mV)
        self.y = brainstate.HiddenState(u.math.zeros(self.varshape) * u.mV)
        self.spike = brainstate.ShortTermState(u.math.zeros(self.varshape, dtype=bool))
        self.t_last_spike = brainstate.ShortTermState(u.math.ones(self.varshape) * -1e7 * u.ms)

    def update(self):
        dv = lambda V, x: (-(V - Vr) + x) / tau_m
        dx = lambda x, y: (-x + y) / tau_psp
        dy_f = lambda y: -y / tau_psp + 25.27 * u.mV / u.ms
        dy_g = lambda y: noise / u.ms ** 0.5

        t = brainstate.environ.get('t')
        x = brainstate.nn.exp_euler_step(dx, self.x.value, self.y.value)
        y = brainstate.nn.exp_euler_step(dy_f, dy_g, self.y.value)
        V = brainstate.nn.exp_euler_step(dv, self.V.value, self.x.value)
        in_ref = (t - self.t_last_spike.value) < tau_ref
        V = u.math.where(in_ref, self.V.value, V)
        self.x.value = x
        self.y.value = y
        self.spike.value = V >= Vt
        self.t_last_spike.value = u.math.where(self.spike.value, t, self.t_last_spike.value)
        self.V.value = u.math.where(self.spike.value, Vr, V)
        return self.spike.value


class Projection(bp.Synapse):
    def __init__(self, group, **kwargs):
        super().__init__(group.varshape, **kwargs)
        self.group = group
        self.g = brainstate.nn.Delay(jax.ShapeDtypeStruct(self.group.varshape, brainstate.environ.dftype()) * u.mV,
                                     entries={'I': delay})

    def update(self, ext_spike):
        # group 0 hears the external pulse packet, group i the spikes of group i - 1
        counts = [ext_spike.sum()] + [self.group.spike.value[(i - 1) * group_size: i * group_size].sum()
                                      for i in range(1, n_groups)]
        g = weight * u.math.repeat(u.math.stack(counts), group_size)
        self.g.update(g)
        g = self.g.retrieve_at_step(u.math.asarray(delay / brainstate.environ.get_dt(), dtype=int))
        self.group.y.value += g


class Net(brainstate.nn.Module):
    def __init__(self, n_spike):
        super().__init__()
        times = brainstate.random.randn(n_spike) * spike_sigma + 20 * u.ms
        self.ext = bp.SpikeTime(n_spike, times=times, indices=u.math.arange(n_spike))
        self.pop = Population(in_size=n_groups * group_size)
        self.syn = Projection(self.pop)

    def update(self, t, i):
        with brainstate.environ.context(t=t, i=i):
            self.syn(self.ext())
            return self.pop()


def run_network(spike_num: int):
    """The spikes (steps x neurons) of one run and the pulse packet's spike times."""
    brainstate.random.seed(1)
    with brainstate.environ.context(dt=0.1 * u.ms):
        net = Net(spike_num)
        brainstate.nn.init_all_states(net)
        times = u.math.arange(0. * u.ms, duration, brainstate.environ.get_dt())
        indices = u.math.arange(times.size)
        spikes = brainstate.transform.for_loop(net.update, times, indices)
    return spikes, net.ext.times


if __name__ == "__main__":
    spikes, _ = run_network(40)
    print(spikes.shape, int(spikes.sum()))
