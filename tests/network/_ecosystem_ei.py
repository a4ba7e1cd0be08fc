"""The E/I network of test_ei_network.py in float64, with its EventFixedProb comms on brainevent and on lapicque's kernel.

Run as ``python tests/network/_ecosystem_ei.py STEPS`` (float64 must be switched on before JAX starts, hence a
process of its own).  Both networks are built with the same seeds, so the same edges, weights and initial
potentials; one keeps brainevent's kernels (a subclass of EventFixedProb whose ``update`` only calls brainstate's,
which :func:`lapicque._network.ecosystem.adopt_comm` leaves alone), the other goes through ``adopt_comm``.  Prints
``RESULT <json>`` with the number of spikes and of (step, neuron) entries where the spike trains differ.
"""

import json
import sys
import warnings
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import brainstate  # noqa: E402
import numpy as np  # noqa: E402
import saiunit as u  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import lapicque  # noqa: E402
from lapicque._network import ecosystem  # noqa: E402
from lapicque._network.ecosystem import AdoptedComm, adopt_comm  # noqa: E402
from test_ei_network import EINet, N, efp  # noqa: E402


class PlainEventFixedProb(brainstate.nn.EventFixedProb):
    """brainstate's EventFixedProb on brainevent's kernel (an overridden update is never adopted)."""

    def update(self, spk):
        return super().update(spk)


def plain(n_pre, w, seed):
    return PlainEventFixedProb(n_pre, N, conn_num=0.02, conn_weight=w, seed=seed)


def adopted(n_pre, w, seed):
    return adopt_comm(efp(n_pre, w, seed))


def spike_train(comm, steps):
    """(steps, N) bool spikes of the network built with ``comm``; whether each projection's comm was adopted."""
    brainstate.environ.set(dt=0.1 * u.ms, precision=64)
    brainstate.random.seed(2007)
    net = EINet(lapicque, lapicque, comm=comm)

    def step(t):
        net.update(t)
        return net.pop.get_spike() != 0.

    brainstate.nn.init_all_states(net)
    spikes = brainstate.transform.for_loop(step, u.math.arange(steps) * brainstate.environ.get_dt())
    kinds = [isinstance(p.comm, AdoptedComm) for p in (net.E, net.I)]
    return np.asarray(spikes), kinds, str(net.pop.V.value.dtype)


def count_kernel_calls():
    """Count the traced calls of lapicque's kernel made by adopted comms."""
    calls, real = [], ecosystem.event_csr_matvec

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    ecosystem.event_csr_matvec = counting
    return calls


if __name__ == "__main__":
    warnings.simplefilter("ignore", DeprecationWarning)
    calls = count_kernel_calls()
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    ref, plain_kinds, _ = spike_train(plain, steps)
    n_plain = len(calls)
    got, adopted_kinds, dtype = spike_train(adopted, steps)
    diff = ref != got
    first = np.argwhere(diff)[:1].tolist()
    print("RESULT " + json.dumps({"dtype": dtype, "steps": steps, "spikes": int(ref.sum()),
                                  "differing": int(diff.sum()), "first_difference": first,
                                  "plain": plain_kinds, "adopted": adopted_kinds,
                                  "kernel_calls": [n_plain, len(calls) - n_plain]}))
