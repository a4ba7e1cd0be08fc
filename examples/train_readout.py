"""Train a spiking network with a LeakyRateReadout (BPTT, surrogate gradients) in a few seconds.

The task: 30 input channels in 3 groups fire Poisson spikes for 50 ms; in a sample of class
``c`` group ``c`` fires at 60 Hz and the others at 20 Hz, so a single step tells little and the
network has to integrate evidence over time.  The network::

    spikes (30) --Linear--> mA --> lapicque.LIF (40) --spikes--> lapicque.LeakyRateReadout (3, tau = 10 ms)

The readout is a leaky integrator of the hidden spikes, :math:`r_t = e^{-\\Delta t/\\tau} r_{t-1} +
s_t W`; its value at the last step is the class scores, trained with softmax cross-entropy by
backpropagation through time (the LIF's surrogate spike gradient) and ``braintools.optim.Adam``.
The same script runs on ``brainpy.state`` by changing the import of ``lapicque`` (``LIF`` and
``LeakyRateReadout`` have its names and signatures).

Run ``python examples/train_readout.py`` (about 10 s of CPU time, most of it compiling); the last
line printed is ``test accuracy: 0.XXX`` (0.979 with the defaults: loss 1.09 -> 0.06).
"""

from __future__ import annotations

import argparse
import time

import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

import lapicque

__all__ = ["make_batch", "ReadoutNet", "train", "main"]

N_IN, N_CLASSES = 30, 3
DT = 1. * u.ms


def make_batch(key, batch_size: int, n_steps: int = 50, rate_hi=60. * u.Hz, rate_lo=20. * u.Hz):
    """A batch of Poisson spike patterns ``(n_steps, batch, 30)`` and their labels ``(batch,)``."""
    k_label, k_spikes = jax.random.split(key)
    labels = jax.random.randint(k_label, (batch_size,), 0, N_CLASSES)
    group = jnp.arange(N_IN) // (N_IN // N_CLASSES)
    hi, lo = float(u.maybe_decimal(rate_hi * DT)), float(u.maybe_decimal(rate_lo * DT))  # spikes per step
    p = jnp.where(group[None, :] == labels[:, None], hi, lo)
    spikes = jax.random.bernoulli(k_spikes, p, (n_steps, batch_size, N_IN)).astype(jnp.float32)
    return spikes, labels


class ReadoutNet(brainstate.nn.Module):
    """Input spikes -> Linear -> LIF -> LeakyRateReadout."""

    def __init__(self, n_hidden: int = 40, tau_readout=10. * u.ms, gain: float = 3.0):
        super().__init__()
        self.gain = gain
        self.fc = brainstate.nn.Linear(N_IN, n_hidden)
        self.hidden = lapicque.LIF(n_hidden, tau=10. * u.ms, V_th=1. * u.mV,
                                   spk_fun=braintools.surrogate.Sigmoid(alpha=4.))
        self.readout = lapicque.LeakyRateReadout(n_hidden, N_CLASSES, tau=tau_readout)

    def update(self, x):
        return self.readout(self.hidden(self.fc(x) * self.gain * u.mA))

    def scores(self, xs):
        """The readout at the last step, from fresh states, for a ``(T, batch, 30)`` input."""
        brainstate.nn.init_all_states(self, batch_size=xs.shape[1])
        with brainstate.environ.context(dt=DT):
            return brainstate.transform.for_loop(self.update, xs)[-1]


def cross_entropy(logits, labels):
    return -jnp.take_along_axis(jax.nn.log_softmax(logits, -1), labels[:, None], -1).mean()


def train(n_updates: int = 150, batch_size: int = 64, lr: float = 0.01, seed: int = 0):
    """Train a fresh :class:`ReadoutNet`; returns ``(net, losses, test accuracy)`` (test: 512 new samples)."""
    brainstate.random.seed(seed)
    net = ReadoutNet()
    weights = net.states(brainstate.ParamState)
    opt = braintools.optim.Adam(lr=lr)
    opt.register_trainable_weights(weights)

    def loss_fn(xs, ys):
        return cross_entropy(net.scores(xs), ys)

    @brainstate.transform.jit
    def step(xs, ys):
        grads, loss = brainstate.transform.grad(loss_fn, weights, return_value=True)(xs, ys)
        opt.update(grads)
        return loss

    @brainstate.transform.jit
    def accuracy(xs, ys):
        return jnp.mean(jnp.argmax(net.scores(xs), -1) == ys)

    key = jax.random.PRNGKey(seed)
    losses = []
    for _ in range(n_updates):
        key, sub = jax.random.split(key)
        losses.append(float(step(*make_batch(sub, batch_size))))
    test = float(accuracy(*make_batch(jax.random.PRNGKey(seed + 10_000), 512)))
    return net, losses, test


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=150, help="optimizer steps (batches of 64)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    _, losses, acc = train(args.updates, seed=args.seed)
    print(f"loss {np.mean(losses[:10]):.3f} -> {np.mean(losses[-10:]):.3f} in {args.updates} updates "
          f"({time.perf_counter() - t0:.1f} s)")
    print(f"test accuracy: {acc:.3f}")
    return acc


if __name__ == "__main__":
    main()
