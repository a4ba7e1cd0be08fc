"""Gradient paths of every model (BPTT through surrogate spikes).

What is checked, for the 13 models of the registry:

* ``jax.grad`` of a spike-count loss over a 200-step run, w.r.t. the input
  current (one gain per neuron) and the membrane time constant ``tau``, is
  finite and nonzero -- for every ``braintools.surrogate`` function on LIF and
  for four of them on every model, with soft and hard reset (the surrogates are
  switched by a traced index and vmapped, so each model compiles once);
* the divergent models (ExpIF/AdEx/QuaIF families) with strong input, where the
  cut-off guard acts at every spike: no inf/NaN in the gradient over 1000 steps,
  at dt = 0.1 ms and dt = 1 ms;
* hard reset blocks the gradient through the reset amount (``stop_gradient``),
  soft reset does not (a set-up where the reset is the only path);
* the refractory bookkeeping (``last_spike_time``, ``ref_steps_left``,
  ``refractory``) carries no gradient, and neither does ``tau_ref``;
* the gradient of a subthreshold loss w.r.t. ``tau`` (and AdEx's ``tau_w``)
  matches central finite differences, in float64 in a subprocess (``_finite_differences.py``)
  so that the x64 switch cannot leak into other tests.

Parameters are differentiated by building the model *inside* the loss with the
traced value (``lapicque.LIF(n, tau=tau * u.ms)``): parameter checks skip
traced values, so no extra state machinery is needed.  Each test case is jitted once.
"""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u
from registry import DIVERGENT, NAMES, REF_NAMES, SPIKING_CURRENT_MA

import lapicque as lq

ROOT = Path(__file__).resolve().parents[2]

#: every surrogate class braintools ships (18 in braintools 0.3)
SURROGATES = {
    name: cls for name, cls in vars(braintools.surrogate).items()
    if inspect.isclass(cls) and issubclass(cls, braintools.surrogate.Surrogate)
    and cls is not braintools.surrogate.Surrogate
}
#: surrogates run on every model: the models' default (ReluGrad, compact support), the Neuron
#: base default (InvSquareGrad, sharp peak) and two smooth ones.
#: (Not LogTailedRelu: its derivative is 0 for x <= 0, and in the divergent models the guard
#: stores a spiking V exactly at the cut-off, x = 0, so its gradient there is exactly 0.)
FEW_SURROGATES = ("ReluGrad", "InvSquareGrad", "Sigmoid", "GaussianGrad")

N = 8          # neurons per case
T = 200        # steps of the standard run
DT = 0.1 * u.ms
#: input scale over the registry's current: every model spikes several times in 200 steps
SCALE = 4.


def _default_tau_ms(name):
    return float(lq.MODELS[name](1).tau.to_decimal(u.ms))


def _run(model, currents_mA, n_steps, dt=DT, record=("V",)):
    """Run ``model`` (states already initialised) under a constant input; returns spikes and traces."""
    def step(i):
        with brainstate.environ.context(t=i * dt):
            spk = model.update(currents_mA * u.mA)
        return spk, {k: getattr(model, k).value for k in record}

    with brainstate.environ.context(dt=dt):
        return brainstate.transform.for_loop(step, jnp.arange(n_steps))


def _spike_loss(name, tau_ms, gain, spk_fun, spk_reset, n_steps=T, dt=DT, scale=SCALE):
    """Spike-count loss of a run, plus the spike count and V trace (aux)."""
    model = lq.MODELS[name](N, tau=tau_ms * u.ms, spk_fun=spk_fun, spk_reset=spk_reset)
    with brainstate.environ.context(dt=dt):
        model.init_state()
    base = SPIKING_CURRENT_MA[name] * scale * jnp.linspace(0.8, 1.2, N)
    spikes, rec = _run(model, base * gain, n_steps, dt)
    V = u.get_mantissa(rec["V"])
    return spikes.mean(), (spikes.sum(), V)


def _surrogate_switch(names, idx):
    """A spike function that applies surrogate ``names[idx]`` (``idx`` may be traced).

    Vmapping over ``idx`` checks several surrogates with one compilation.
    """
    fns = [SURROGATES[n]() for n in names]
    return lambda x: jax.lax.switch(idx, fns, x)


RESETS = ("soft", "hard")


def _grads(name, surrogates, **kw):
    """d(spike loss)/d(tau, per-neuron input gain) for each reset rule and surrogate.

    Returns ``{spk_reset: (g_tau, g_gain, n_spikes, V)}`` with a leading
    surrogate axis; both reset rules and all surrogates compile as one function.
    """
    tau0 = _default_tau_ms(name)

    def one(idx, spk_reset):
        spk_fun = _surrogate_switch(surrogates, idx)
        loss = lambda tau, gain: _spike_loss(name, tau, gain, spk_fun, spk_reset, **kw)
        return jax.grad(loss, argnums=(0, 1), has_aux=True)(tau0, jnp.ones(N))

    def all_cases(idx):
        return {r: jax.vmap(lambda i, r=r: one(i, r))(idx) for r in RESETS}

    out = jax.jit(all_cases)(jnp.arange(len(surrogates)))
    return {r: tuple(np.asarray(a) for a in (g_tau, g_gain, n, V)) for r, ((g_tau, g_gain), (n, V)) in out.items()}


def _check_finite_nonzero(surrogates, results):
    bad = {}
    for spk_reset, (g_tau, g_gain, n_spikes, V) in results.items():
        assert np.all(n_spikes > 0), "the run should spike, so the gradient passes through spikes and resets"
        assert np.all(np.isfinite(V))
        for i, s in enumerate(surrogates):
            if not (np.isfinite(g_tau[i]) and g_tau[i] != 0.):
                bad[s, spk_reset] = f"d/dtau = {g_tau[i]}"
            elif not (np.all(np.isfinite(g_gain[i])) and np.all(g_gain[i] != 0.)):
                bad[s, spk_reset] = f"d/dinput = {g_gain[i]}"
    assert not bad, f"zero or non-finite gradients: {bad}"


# --------------------------------------------------------------------------
# finite, nonzero gradients
# --------------------------------------------------------------------------
def test_surrogate_list_is_complete():
    assert len(SURROGATES) >= 15
    assert set(FEW_SURROGATES) <= set(SURROGATES)


def test_lif_gradient_every_surrogate():
    names = sorted(SURROGATES)
    _check_finite_nonzero(names, _grads("LIF", names))


@pytest.mark.parametrize("name", [n for n in NAMES if n != "LIF"])
def test_gradient_every_model(name):
    _check_finite_nonzero(FEW_SURROGATES, _grads(name, FEW_SURROGATES))


@pytest.mark.parametrize("name", DIVERGENT)
def test_divergent_models_strong_input_1000_steps(name):
    """Strong input: V overshoots the cut-off at every spike; the guard keeps values and gradients finite.

    Soft and hard reset, each at dt = 0.1 ms and dt = 1 ms (vmapped; the
    reference gives NaN at 1 ms with hard reset).
    """
    v_th = float(lq.MODELS[name](1).V_th.to_decimal(u.mV))
    tau0 = _default_tau_ms(name)

    def one(dt_ms, spk_reset):
        def loss(tau, gain):
            spk_loss, (n, V) = _spike_loss(name, tau, gain, braintools.surrogate.Sigmoid(), spk_reset,
                                           n_steps=1000, dt=dt_ms * u.ms, scale=20.)
            return spk_loss + 1e-3 * jnp.mean(V), (n, V)
        return jax.grad(loss, argnums=(0, 1), has_aux=True)(tau0, jnp.ones(N))

    def all_cases(dts):
        return {r: jax.vmap(lambda d, r=r: one(d, r))(dts) for r in RESETS}

    out = jax.jit(all_cases)(jnp.array([0.1, 1.0]))
    for spk_reset, ((g_tau, g_gain), (n_spikes, V)) in out.items():
        g_tau, g_gain, n_spikes, V = map(np.asarray, (g_tau, g_gain, n_spikes, V))
        msg = f"{spk_reset} reset, dt = (0.1, 1) ms"
        assert np.all(n_spikes >= 10 * N), f"{msg}: strong input should make every neuron fire often: {n_spikes}"
        assert np.all(np.isfinite(V)), msg
        assert np.all(V.max(axis=(1, 2)) == np.float32(v_th)), f"{msg}: the guard acts, stored V reaches V_th"
        assert np.all(np.isfinite(g_tau)), f"{msg}: non-finite d loss / d tau: {g_tau}"
        assert np.all(np.isfinite(g_gain)), f"{msg}: non-finite d loss / d input: {g_gain}"
        # at dt = 0.1 ms the gradient is nonzero; at dt = 1 ms the adaptive models saturate (a spike
        # every step, V pinned at the cut-off), where the exact derivative of the spike train is 0
        assert g_tau[0] != 0. and np.any(g_gain[0] != 0.), msg


# --------------------------------------------------------------------------
# hard vs soft reset
# --------------------------------------------------------------------------
def heaviside_no_grad(x):
    """Forward: the spike (x >= 0); backward: zero, so the surrogate path is switched off."""
    return jax.lax.stop_gradient((x >= 0).astype(x.dtype))


def _model_with_threshold(name, th, spk_reset, v0):
    """Model whose (initial) threshold is the traced ``th`` (mV) and whose V starts at ``v0`` (mV)."""
    init = braintools.init.Constant(v0 * u.mV)
    if name in ("Gif", "GifRef"):  # the threshold is a state variable
        return lq.MODELS[name](N, V_th_initializer=braintools.init.Constant(th * u.mV), V_initializer=init,
                               spk_fun=heaviside_no_grad, spk_reset=spk_reset)
    return lq.MODELS[name](N, V_th=th * u.mV, V_initializer=init, spk_fun=heaviside_no_grad, spk_reset=spk_reset)


def _default_threshold_mV(name):
    m = lq.MODELS[name](1)
    if name in ("Gif", "GifRef"):
        return float(m.V_th_initializer.value.to_decimal(u.mV))
    return float(m.V_th.to_decimal(u.mV))


def _reset_path_grads(name, n_steps, current_scale):
    """``{spk_reset: (d(sum of V over the run) / d threshold, spike count)}`` with a zero-gradient spike function.

    The threshold then reaches V only through the soft reset amount
    ``(V_th - V_reset) * spk`` -- the hard reset uses ``stop_gradient(V)`` there.
    V is 1 mV above the threshold (a constant, not traced) in the middle of a run
    (``started`` set), so the first step resets it.  For Gif the threshold is the
    initial value of its state ``V_th``.
    """
    th0 = _default_threshold_mV(name)

    def loss(th, spk_reset):
        model = _model_with_threshold(name, th, spk_reset, v0=th0 + 1.)
        with brainstate.environ.context(dt=DT):
            model.init_state()
        model.started.value = jnp.asarray(True)
        spikes, rec = _run(model, SPIKING_CURRENT_MA[name] * current_scale * jnp.ones(N), n_steps)
        return jnp.sum(u.get_mantissa(rec["V"])), spikes.sum()

    out = jax.jit(lambda th: {r: jax.grad(loss, has_aux=True)(th, r) for r in RESETS})(th0)
    return {r: (float(g), float(n)) for r, (g, n) in out.items()}


@pytest.mark.parametrize("name", NAMES)
def test_hard_reset_blocks_gradient_through_reset_one_step(name):
    """One step from above threshold: soft reset passes d/dV_th = -(propagator), hard reset passes 0.

    A single step, because in the divergent models the cut-off guard
    (``min(V, V_th)``) is a second, legitimate path from V_th to V once V
    reaches the cut-off again.
    """
    out = _reset_path_grads(name, n_steps=1, current_scale=0.)
    g_soft, g_hard = out["soft"][0], out["hard"][0]
    # g_soft != 0 shows the (shared) forward pass did spike and reset
    assert g_hard == 0.
    assert g_soft < 0. and np.isfinite(g_soft), g_soft


@pytest.mark.parametrize("name", [n for n in NAMES if n not in DIVERGENT])
def test_hard_reset_blocks_gradient_through_reset_200_steps(name):
    """Over a spiking 200-step run the same holds: every soft reset adds to the gradient, hard resets none."""
    out = _reset_path_grads(name, n_steps=T, current_scale=SCALE)
    (g_soft, n_soft), (g_hard, n_hard) = out["soft"], out["hard"]
    assert n_soft > N and n_hard > N, "the run should spike repeatedly"
    assert g_hard == 0.
    assert g_soft < 0. and np.isfinite(g_soft), g_soft


@pytest.mark.parametrize("spk_reset", ["soft", "hard"])
def test_reset_potential_gradient(spk_reset):
    """The shared reset rule: d V_post / d(V, V_th, V_reset) with the spike held fixed at 1."""
    from lapicque._neurons.base import reset_potential

    def post(V, V_th, V_reset):
        return reset_potential(V, jnp.float32(1.), V_th, V_reset, spk_reset)

    dV, dth, dreset = jax.grad(post, argnums=(0, 1, 2))(1.3, 1.0, 0.0)
    assert float(post(1.3, 1.0, 0.0)) == pytest.approx(0.3 if spk_reset == "soft" else 0.0, abs=1e-7)
    assert float(dV) == 1.0 and float(dreset) == 1.0
    assert float(dth) == (-1.0 if spk_reset == "soft" else 0.0)


@pytest.mark.parametrize("spk_reset", ["soft", "hard"])
def test_reset_potential_through_the_spike(spk_reset):
    """d V_post / d spk = -(V_th - V_reset) (soft) or -(V - V_reset) (hard, V itself not differentiated);
    a hard reset lands exactly on V_reset, and no spike leaves V and its gradient untouched."""
    from lapicque._neurons.base import reset_potential

    V, V_th, V_reset = jnp.float32(-49.7), jnp.float32(-50.), jnp.float32(-65.3)
    post = lambda v, spk: reset_potential(v, spk, V_th, V_reset, spk_reset)  # noqa: E731
    for spk in (0., 1.):
        dV, dspk = jax.grad(post, argnums=(0, 1))(V, jnp.float32(spk))
        assert float(dV) == 1.0
        assert float(dspk) == pytest.approx(-float((V_th if spk_reset == "soft" else V) - V_reset), rel=1e-6)
    assert float(post(V, jnp.float32(0.))) == float(V)
    if spk_reset == "hard":
        # bit-exact V_reset for any V (no `V - (V - V_reset)` rounding); the binary form (spikes of a
        # braintools surrogate) has the same values and derivatives for spikes in {0, 1}
        Vs = jnp.linspace(-80., 40., 1001, dtype=jnp.float32)
        assert bool(jnp.all(post(Vs, jnp.ones_like(Vs)) == V_reset))
        spikes = (jnp.arange(Vs.size) % 3 == 0).astype(jnp.float32)
        both = [lambda v, k, b=b: reset_potential(v, k, V_th, V_reset, "hard", binary=b) for b in (False, True)]
        np.testing.assert_array_equal(both[0](Vs, spikes), both[1](Vs, spikes))
        g = [jax.grad(lambda v, k, f=f: jnp.sum(f(v, k) * Vs), argnums=(0, 1))(Vs, spikes) for f in both]
        for a, b in zip(*g):
            np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------
# refractory bookkeeping
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", REF_NAMES)
def test_refractory_bookkeeping_carries_no_gradient(name):
    def run(tau, tau_ref, gain, spk_reset):
        model = lq.MODELS[name](N, tau=tau * u.ms, tau_ref=tau_ref * u.ms, ref_var=True,
                                spk_fun=braintools.surrogate.Sigmoid(), spk_reset=spk_reset)
        with brainstate.environ.context(dt=DT):
            model.init_state()
        base = SPIKING_CURRENT_MA[name] * SCALE * jnp.linspace(0.8, 1.2, N)
        spikes, rec = _run(model, base * gain, T, record=("last_spike_time", "ref_steps_left", "refractory"))
        book = (jnp.sum(u.get_mantissa(rec["last_spike_time"])) + jnp.sum(rec["ref_steps_left"].astype(jnp.float32))
                + jnp.sum(rec["refractory"].astype(jnp.float32)))
        # (bookkeeping loss, spike loss)
        return jnp.stack([book, spikes.mean()]), rec

    # one compilation: the Jacobians of both losses w.r.t. (tau, tau_ref, input), for both reset rules
    jac = jax.jit(lambda *a: {r: jax.jacrev(run, argnums=(0, 1, 2), has_aux=True)(*a, r) for r in RESETS})
    out = jac(_default_tau_ms(name), 2.0, jnp.ones(N))
    for spk_reset, ((d_tau, d_tau_ref, d_input), rec) in out.items():
        d_tau, d_tau_ref, d_input = map(np.asarray, (d_tau, d_tau_ref, d_input))
        assert np.asarray(rec["ref_steps_left"]).max() > 0 and np.asarray(rec["refractory"]).any(), \
            "the run should enter the refractory period"
        assert np.asarray(u.get_mantissa(rec["last_spike_time"])).max() > 0., "spike times should be recorded"
        for g, what in ((d_tau[0], "tau"), (d_tau_ref[0], "tau_ref"), (d_input[0], "input")):
            assert np.all(g == 0.), f"{spk_reset} reset: bookkeeping has a gradient w.r.t. {what}: {g}"
        # the spike loss has a gradient through the dynamics, none through tau_ref (a whole number of steps)
        assert d_tau_ref[1] == 0., spk_reset
        assert np.isfinite(d_tau[1]) and d_tau[1] != 0., spk_reset
        assert np.all(np.isfinite(d_input[1])) and np.any(d_input[1] != 0.), spk_reset


# --------------------------------------------------------------------------
# finite differences (float64, isolated in a subprocess)
# --------------------------------------------------------------------------
def test_gradient_matches_finite_differences_float64():
    """``_finite_differences.py`` (beside this file) compares autodiff with central differences in float64."""
    env = {**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu"),
           "PYTHONPATH": os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH")
                                                        else []))}  # lapicque of this checkout
    res = subprocess.run([sys.executable, str(Path(__file__).with_name("_finite_differences.py"))], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads([x for x in res.stdout.splitlines() if x.startswith("RESULT ")][-1][len("RESULT "):])
    assert set(out) == {"LIF.tau", "AdExIF.tau", "AdExIF.tau_w"}
    for key, r in out.items():
        assert r["dtype"] == "float64", key
        assert r["spikes"] == 0. and r["vmax"] < -60., f"{key}: the run must stay subthreshold: {r}"
        assert r["fd"] != 0., key
        assert r["grad"] == pytest.approx(r["fd"], rel=1e-6), f"{key}: autodiff {r['grad']} vs FD {r['fd']}"


def test_float64_did_not_leak():
    """The finite-difference check ran in a subprocess: this process is still float32."""
    assert not jax.config.jax_enable_x64
    assert jnp.asarray(1.).dtype == jnp.float32
