"""One BPTT training step of a ``Linear -> LIF`` layer in each library.

The layer maps ``n_in`` input channels to ``n`` LIF neurons
(``tau = 5 ms``, ``V_th = 1 mV``, soft reset, ``dt = 0.1 ms``); the input is
a fixed random binary ``(T, batch, n_in)`` array and the weights start from
the same random matrix everywhere.  One step = reset the state, run ``T``
steps forward, loss ``mean((rate - target)^2)`` of the per-neuron spike
rate, backward through time, one SGD update of the weights.

* lapicque / brainpy: ``brainstate.transform.for_loop`` inside
  ``brainstate.transform.jit`` with ``brainstate.transform.grad``; surrogate
  ``braintools.surrogate.ReluGrad()`` (both libraries' LIF default);
* snnTorch: ``snn.Leaky`` (exact decay ``beta = exp(-dt/tau)``, input scaled
  by ``1 - beta`` so it is the same equation), its default surrogate;
* Norse: ``LIFBoxCell`` (forward Euler of the same equation), its default
  surrogate.
"""

from __future__ import annotations

import math
from typing import Callable, Tuple

import numpy as np

from .models import DT_MS, model_class
from .peers import TAU_MS, V_TH, _torch, import_peer

N_IN = 256
TARGET_RATE = 0.02  # spikes per step
LR = 0.1
INPUT_P = 0.05


def make_data(n: int, batch: int, steps: int, n_in: int = N_IN, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Input spikes ``(T, B, n_in)`` and initial weights ``(n_in, n)`` (float32)."""
    rng = np.random.default_rng(seed)
    x = (rng.random((steps, batch, n_in)) < INPUT_P).astype(np.float32)
    # mean drive ~ 1.5 V_th at equilibrium: n_in * p * mean(W) = 1.5
    w = rng.normal(1.5 / (n_in * INPUT_P), 0.5 / (n_in * INPUT_P), size=(n_in, n)).astype(np.float32)
    return x, w


def build_train(impl: str, n: int, batch: int = 16, steps: int = 500) -> Callable:
    """A callable doing one full training step; returns the loss (blocked)."""
    x, w = make_data(n, batch, steps)
    if impl in ("lapicque", "brainpy"):
        return _build_jax(impl, n, batch, steps, x, w)
    if impl == "snntorch":
        return _build_snntorch(n, batch, steps, x, w)
    if impl == "norse":
        return _build_norse(n, batch, steps, x, w)
    raise ValueError(impl)


def _build_jax(impl, n, batch, steps, x, w):
    import brainstate
    import braintools
    import jax
    import jax.numpy as jnp
    import saiunit as u

    brainstate.environ.set(dt=DT_MS * u.ms)
    dt = DT_MS * u.ms
    lif = model_class(impl, "LIF")(n, tau=TAU_MS * u.ms, V_th=V_TH * u.mV,
                                   spk_fun=braintools.surrogate.ReluGrad())
    lif.init_state(batch_size=batch)
    W = brainstate.ParamState(jnp.asarray(w))
    xs = jnp.asarray(x)

    def loss_fn():
        lif.reset_state(batch_size=batch)

        def step(i, xt):
            with brainstate.environ.context(t=i * dt):
                return lif.update((xt @ W.value) * u.mA)

        spk = brainstate.transform.for_loop(step, jnp.arange(steps), xs)
        rate = spk.mean(axis=0)
        return jnp.mean((rate - TARGET_RATE) ** 2)

    grad_fn = brainstate.transform.grad(loss_fn, {"W": W}, return_value=True)

    @brainstate.transform.jit
    def train_step():
        grads, loss = grad_fn()
        W.value = W.value - LR * grads["W"]
        return loss

    def fn():
        return jax.block_until_ready(train_step())

    return fn


def _build_snntorch(n, batch, steps, x, w):
    torch = _torch()
    snn = import_peer("snntorch", "snntorch")
    beta = math.exp(-DT_MS / TAU_MS)
    lif = snn.Leaky(beta=beta, threshold=V_TH, reset_mechanism="subtract")
    W = torch.tensor(w, requires_grad=True)
    xs = torch.tensor(x)

    def fn():
        mem = torch.zeros(batch, n)
        total = torch.zeros(batch, n)
        for t in range(steps):
            spk, mem = lif((1 - beta) * (xs[t] @ W), mem)
            total = total + spk
        loss = ((total / steps - TARGET_RATE) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            W.sub_(LR * W.grad)
            W.grad = None
        return float(loss)

    return fn


def _build_norse(n, batch, steps, x, w):
    torch = _torch()
    nt = import_peer("norse.torch", "norse")
    p = nt.LIFBoxParameters(tau_mem_inv=torch.as_tensor(1e3 / TAU_MS), v_leak=torch.as_tensor(0.),
                            v_th=torch.as_tensor(V_TH), v_reset=torch.as_tensor(0.))
    cell = nt.LIFBoxCell(p, dt=DT_MS * 1e-3)
    W = torch.tensor(w, requires_grad=True)
    xs = torch.tensor(x)

    def fn():
        s = None
        total = torch.zeros(batch, n)
        for t in range(steps):
            z, s = cell(xs[t] @ W, s)
            total = total + z
        loss = ((total / steps - TARGET_RATE) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            W.sub_(LR * W.grad)
            W.grad = None
        return float(loss)

    return fn
