"""The fuzz's machinery, shared by the fuzz, the heterogeneous-parameter and the checkpoint tests.

One compiled runner per (model, reset) with parameters, states, inputs and ``dt`` traced
(:func:`runner` / :func:`simulate`); random parameters, states and inputs within the
documented valid ranges (see ``neurons/test_fuzz.py`` for the table); and the checks of a
run (:func:`check_run`: finite, binary spikes, bounds, the refractory rule to the step).
"""

import functools
import math
import os

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lapicque as lq
from registry import NAMES

# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
_ENV = os.environ.get("LAPICQUE_FUZZ_EXAMPLES")
EXAMPLES = int(_ENV) if _ENV else 4
INVALID_EXAMPLES = 25 * EXAMPLES
N_NEURONS = 128
N_STEPS = 250

FUZZ_SETTINGS = dict(
    deadline=None,
    database=None,
    derandomize=_ENV is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

LINEAR = ("IF", "LIF", "LIFRef", "ALIF")
DIVERGENT = ("ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef", "QuaIF", "AdQuaIF", "AdQuaIFRef")
#: V never leaves (-1 V, 1 V) for valid parameters and |R I| <= 500 mV
V_ABS_MAX_MV = 1000.
#: The divergent models' exponential-Euler step would overshoot *downward* without bound when
#: dt * J > 0 (V above the f-minimum) meets f < 0 (a hyperpolarizing input), e.g. ExpIF(tau=1 ms)
#: at dt = 1 ms from V = -50 mV with R I = -50 mV lands at -3.4e6 mV.  The core stops a falling V
#: where the true trajectory stops (lapicque._neurons.integrate, point 4), so the lower bound is checked.
DIVERGENT_LOWER_BOUND_GUARDED = True
#: Gif/GifRef with soft reset and a negative ``a``: a strong input drives V up, the threshold
#: falls below V_reset within one step, and a soft reset V <- V - (V_th - V_reset) would then
#: *raise* V every step (the reference does, reaching NaN).  The core resets with
#: max(V_th, V_reset), so the soft-reset Gif fuzz also draws a < 0.
GIF_SOFT_RESET_GUARDED = True
#: float32 slack of the linear bounds: a few ulp of the largest voltage involved
BOUND_RTOL, BOUND_ATOL_MV = 1e-5, 1e-4
#: the tolerance (in steps) of lapicque's tau_ref -> steps conversion (see lapicque._neurons.refractory)
STEP_TOLERANCE = np.float32(1e-3)


# --------------------------------------------------------------------------
# one compiled run per (model, reset): parameters, states, inputs, dt traced
# --------------------------------------------------------------------------
def _specs(name):
    return lq.MODELS[name]._PARAMS


def _model_kwargs(name):
    return {"ref_var": True} if lq.MODELS[name]._REFRACTORY else {}


@functools.lru_cache(maxsize=None)
def runner(name, spk_reset="soft"):
    """A jitted ``sim(params, states, currents, dt, i0) -> (final states, spikes, records)``.

    ``params``: name -> float32 array (mantissa in the parameter's canonical
    unit, one entry per neuron); ``states``: a ``state_dict()``; ``currents``:
    (T, [batch,] N) in mA; ``dt`` in ms; step ``i`` (from ``i0``) runs with
    ``t = i * dt``.  ``records`` holds every state after every step (mantissas).
    Recompiles only for new shapes, so one compilation serves every example.
    """
    cls = lq.MODELS[name]
    specs = _specs(name)
    extra = _model_kwargs(name)

    def sim(params, states, currents, dt, i0):
        kw = {k: (v if specs[k].unit is None else u.Quantity(v, unit=specs[k].unit)) for k, v in params.items()}
        model = cls(currents.shape[-1], spk_reset=spk_reset, **extra, **kw)
        dtq = u.Quantity(dt, unit=u.ms)
        with brainstate.environ.context(dt=dtq):
            model.load_state_dict(states)

            def step(i, x):
                with brainstate.environ.context(t=i * dtq):
                    spk = model.update(u.Quantity(x, unit=u.mA))
                return spk, {k: u.get_mantissa(v) for k, v in model.state_dict().items() if k != "started"}

            spk, rec = brainstate.transform.for_loop(step, i0 + jnp.arange(currents.shape[0]), currents)
        return model.state_dict(), spk, rec

    return jax.jit(sim)


def simulate(name, params, states, currents, dt, i0=0, spk_reset="soft"):
    """Run :func:`runner`; returns numpy (final state dict, spikes, records)."""
    out = runner(name, spk_reset)(
        {k: jnp.asarray(v, jnp.float32) for k, v in params.items()}, states,
        jnp.asarray(currents, jnp.float32), jnp.float32(dt), jnp.int32(i0))
    final, spk, rec = jax.device_get(out)
    return final, np.asarray(spk), {k: np.asarray(v) for k, v in rec.items()}


def params_of_instance(model):
    """name -> float32 mantissa array (broadcast to the group shape) of a concrete model."""
    out = {}
    for k, spec in _specs(type(model).__name__).items():
        v = getattr(model, k)
        m = np.asarray(u.get_mantissa(v) if spec.unit is None else v.to_decimal(spec.unit), dtype=np.float32)
        out[k] = np.broadcast_to(m, tuple(model.varshape)).copy()
    return out


def initial_states(name, n, batch=None, **kwargs):
    """``state_dict()`` of a group in the middle of a run (the template the fuzz overwrites): ``started``
    is set, so a V at or above threshold is a pending spike, reset by the next step."""
    model = lq.MODELS[name](n, **_model_kwargs(name), **kwargs)
    with brainstate.environ.context(dt=0.1 * u.ms):
        model.init_state(batch)
    return {**model.state_dict(), "started": np.asarray(True)}


# --------------------------------------------------------------------------
# random valid parameters, states and inputs
# --------------------------------------------------------------------------
def _log_uniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def sample_params(name, rng, n, dt, spk_reset="hard"):
    """Per-neuron parameter arrays within the documented valid ranges (module docstring)."""
    p = {"R": _log_uniform(rng, 0.1, 100., n), "tau": _log_uniform(rng, 0.5, 200., n)}
    R = p["R"]
    if name == "IF":
        p["V_th"] = rng.uniform(0.1, 50., n)
    elif name in ("LIF", "LIFRef", "ALIF"):
        p["V_rest"] = rng.uniform(-80., 0., n)
        p["V_reset"] = p["V_rest"] + rng.uniform(-20., 10., n)
        p["V_th"] = p["V_reset"] + _log_uniform(rng, 0.1, 60., n)
        if name == "ALIF":
            p["tau_a"] = _log_uniform(rng, 0.5, 200., n)
            p["beta"] = rng.uniform(0., 10., n)
    elif name.startswith(("ExpIF", "AdExIF")):
        p["V_rest"] = rng.uniform(-80., -40., n)
        p["delta_T"] = rng.uniform(0.5, 10., n)
        p["V_T"] = p["V_rest"] + rng.uniform(-5., 25., n)
        p["V_th"] = p["V_T"] + p["delta_T"] * rng.uniform(-1., 39.9, n)
        p["V_reset"] = p["V_th"] - _log_uniform(rng, 0.5, 40., n)
    elif name.startswith(("QuaIF", "AdQuaIF")):
        p["V_rest"] = rng.uniform(-80., -40., n)
        p["c"] = _log_uniform(rng, 0.01, 0.2, n)
        p["V_c"] = p["V_rest"] + rng.uniform(1., 30., n)
        p["V_th"] = p["V_rest"] + rng.uniform(2., 90., n)
        p["V_reset"] = p["V_th"] - _log_uniform(rng, 0.5, 60., n)
    elif name.startswith("Gif"):
        p["V_rest"] = rng.uniform(-80., -50., n)
        p["V_reset"] = p["V_rest"] + rng.uniform(-10., 5., n)
        p["V_th_inf"] = p["V_reset"] + rng.uniform(1., 40., n)
        p["V_th_reset"] = p["V_reset"] + rng.uniform(0.5, 30., n)
        p["a"] = rng.uniform(-0.1, 0.1, n)
        if spk_reset == "soft" and not GIF_SOFT_RESET_GUARDED:
            p["a"] = np.abs(p["a"])
        p["b"] = np.where(rng.random(n) < 0.1, 0., rng.uniform(0., 0.2, n))
        for j in ("1", "2"):
            p["k" + j] = np.where(rng.random(n) < 0.1, 0., _log_uniform(rng, 0.005, 1., n))
            p["R" + j] = np.where(rng.random(n) < 0.3, float(j == "2"), rng.uniform(0., 1., n))
            RA = rng.uniform(-20., 20., n)
            p["A" + j] = np.where(p["R" + j] > 0.5, -np.abs(RA), RA) / R
    else:  # pragma: no cover - a new model must get ranges here
        raise AssertionError(f"no fuzz ranges for {name}")
    if name.startswith(("Ad",)):
        p["tau_w"] = _log_uniform(rng, 0.5, 200., n)
        p["a"] = rng.uniform(-0.5, 5., n) / R
        p["b"] = rng.uniform(0., 50., n) / R
    if lq.MODELS[name]._REFRACTORY:
        kind = rng.integers(0, 3, n)
        multiple = np.float32(dt) * rng.integers(0, max(1, int(10. / dt)) + 1, n)
        p["tau_ref"] = np.select([kind == 0, kind == 1], [rng.uniform(0., 10., n), np.minimum(multiple, 10.)], 0.)
    assert set(p) == set(_specs(name)), (name, set(p) ^ set(_specs(name)))
    return {k: np.asarray(v, np.float32) for k, v in p.items()}


def sample_states(name, rng, params, template):
    """Random initial states (module docstring ranges) in the structure of ``template``."""
    n = params["R"].shape[0]
    R = params["R"]
    states = dict(template)
    if name.startswith("Gif"):
        V_th0 = np.maximum(params["V_th_inf"] + rng.uniform(-5., 10., n), params["V_reset"] + 0.5)
        states["V_th"] = np.float32(V_th0) * u.mV
        states["I1"] = np.float32(np.where(rng.random(n) < 0.5, 0., rng.uniform(-10., 10., n)) / R) * u.mA
        states["I2"] = np.float32(np.where(rng.random(n) < 0.5, 0., rng.uniform(-10., 10., n)) / R) * u.mA
        hi = params["V_th_inf"] + 5.
    else:
        hi = params["V_th"] + 5.
    lo = (params["V_reset"] if "V_reset" in params else np.zeros(n)) - 10.
    states["V"] = np.float32(rng.uniform(lo, hi)) * u.mV
    if "w" in states:
        states["w"] = np.float32(rng.uniform(-20., 50., n) / R) * u.mA
    if "a" in states:
        states["a"] = np.float32(rng.uniform(0., 5., n))
    return states


INPUT_KINDS = ("constant", "noisy", "steps", "large", "mixed")


def sample_input_mV(kind, rng, n, T):
    """R * I (mV), shape (T, n), within [-50, 500] mV."""
    if kind == "mixed":
        kinds = rng.integers(0, len(INPUT_KINDS) - 1, n)
        out = np.empty((T, n))
        for j, k in enumerate(INPUT_KINDS[:-1]):
            cols = np.flatnonzero(kinds == j)
            if cols.size:
                out[:, cols] = sample_input_mV(k, rng, cols.size, T)
        return out
    if kind == "constant":
        level = np.where(rng.random(n) < 0.5, rng.uniform(-50., 100., n), rng.uniform(-50., 500., n))
        return np.broadcast_to(level, (T, n)).copy()
    if kind == "noisy":
        mean, sigma = rng.uniform(-50., 300., n), rng.uniform(0., 200., n)
        return np.clip(mean + sigma * rng.standard_normal((T, n)), -50., 500.)
    if kind == "steps":
        switches = np.sort(rng.integers(0, T, (4, n)), axis=0)
        levels = rng.uniform(-50., 500., (5, n))
        seg = (np.arange(T)[:, None, None] >= switches[None]).sum(axis=1)  # (T, n) segment index
        return np.take_along_axis(levels, seg, axis=0)
    if kind == "large":
        const = np.where(rng.random(n) < 0.5, 500., -50.)
        alternating = np.where(np.arange(T)[:, None] % 2 == 0, 500., -50.)
        return np.where(rng.random(n) < 0.7, const, alternating)
    raise AssertionError(kind)


# --------------------------------------------------------------------------
# the checks
# --------------------------------------------------------------------------
def n_ref_steps(tau_ref, dt):
    """lapicque's documented rule ``n_ref = ceil(tau_ref/dt - 1e-3)`` in float32."""
    return np.maximum(np.ceil(np.float32(tau_ref) / np.float32(dt) - STEP_TOLERANCE), 0).astype(np.int64)


def check_run(name, params, states0, RI, dt, spk, rec, spk_reset, where=""):
    """Assert every fuzz invariant for one run (all neurons, all steps)."""
    T, n = spk.shape
    ctx = f"{name} ({spk_reset} reset, dt={dt:g} ms){where}"

    def bad_neurons(mask2d):
        cols = np.flatnonzero(np.any(mask2d, axis=0))[:5]
        return {c: {k: float(v[c]) for k, v in params.items()} for c in cols}

    for key, val in rec.items():
        if np.issubdtype(val.dtype, np.floating):
            assert np.all(np.isfinite(val)), f"{ctx}: non-finite {key} for neurons {bad_neurons(~np.isfinite(val))}"
    assert np.all((spk == 0) | (spk == 1)), f"{ctx}: spikes outside {{0, 1}}: {np.unique(spk)}"
    V = rec["V"]
    V0 = np.asarray(u.get_mantissa(states0["V"]))
    if name.startswith("Gif"):
        check_gif_bounds(params, states0, RI, spk, rec, spk_reset, ctx, bad_neurons)
    elif name in LINEAR:
        big = np.abs(V) >= V_ABS_MAX_MV
        assert not big.any(), f"{ctx}: |V| >= 1 V, max |V| = {np.abs(V).max()} mV, neurons {bad_neurons(big)}"
        rest = params.get("V_rest", np.zeros(n, np.float32))
        reset = params.get("V_reset", np.zeros(n, np.float32))
        check_between(V, V0, reset, rest + RI.min(axis=0), rest + RI.max(axis=0), ctx, bad_neurons)
    else:  # divergent
        over = V > params["V_th"]
        assert not over.any(), f"{ctx}: stored V above the cut-off V_th for neurons {bad_neurons(over)}"
        if DIVERGENT_LOWER_BOUND_GUARDED:
            check_divergent_floor(name, params, states0, RI, spk, rec, ctx, bad_neurons)
            if "w" not in rec:  # adaptation is part of the drive: R w may exceed the input range
                big = np.abs(V) >= V_ABS_MAX_MV
                assert not big.any(), f"{ctx}: |V| >= 1 V, min V = {V.min()} mV, neurons {bad_neurons(big)}"
    if lq.MODELS[name]._REFRACTORY:
        check_refractory(name, params, dt, spk, rec, spk_reset, ctx, bad_neurons)


def check_between(V, V0, V_reset, lo_drive, hi_drive, ctx, bad_neurons, skip=None, reset_above=False):
    """V stays within [min(V0, V_reset, lo_drive), max(V0, hi_drive)] up to float32 slack.

    With ``reset_above`` (Gif: the dynamic threshold may sink below V_reset, so a reset may
    raise V to V_reset) the upper bound includes V_reset too.
    """
    lo = np.minimum(np.minimum(V0, V_reset), lo_drive)
    hi = np.maximum(V0, hi_drive)
    if reset_above:
        hi = np.maximum(hi, V_reset)
    slack = BOUND_ATOL_MV + BOUND_RTOL * np.maximum(np.abs(lo), np.abs(hi))
    out = (V < lo - slack) | (V > hi + slack)
    if skip is not None:
        out &= ~skip
    assert not out.any(), f"{ctx}: V left the bounds set by its drive for neurons {bad_neurons(out)}"


def check_divergent_floor(name, params, states0, RI, spk, rec, ctx, bad_neurons):
    """Divergent models: V never falls below where its drive can take it.

    With the drive D = R (I - w) (w at its post-reset value) a decreasing trajectory stops at
    the lower zero of dV/dt: above V_rest + D for the exponential models (the exponential term is
    positive) and at the lower root of c (V - V_rest)(V - V_c) + D for the quadratic ones.  So
    V >= min(V0, V_reset, min over steps of that floor).  Like Gif's currents, the adaptation
    current is part of the model: with a large b it can drive V below -1 V by itself.
    """
    T, n = spk.shape
    V0 = np.asarray(u.get_mantissa(states0["V"]))
    drive = RI.astype(np.float64)
    if "w" in rec:
        prev_spk = np.vstack([(V0 >= params["V_th"])[None], spk[:-1] > 0])
        w_prev = np.vstack([np.asarray(u.get_mantissa(states0["w"]))[None], rec["w"][:-1]])
        drive = drive - params["R"] * (w_prev + params["b"] * prev_spk)
    if "delta_T" in params:
        floor = params["V_rest"] + drive
    else:
        half = 0.5 * (params["V_c"] - params["V_rest"])
        disc = half * half - drive / params["c"]
        floor = np.where(disc >= 0, params["V_rest"] + half - np.sqrt(np.maximum(disc, 0.)), np.inf)
    check_between(rec["V"], V0, params["V_reset"], floor.min(axis=0), np.full(n, np.inf), ctx, bad_neurons)


def check_gif_bounds(params, states0, RI, spk, rec, spk_reset, ctx, bad_neurons):
    """Gif: V is bounded by its *total* drive V_rest + R (I + I1 + I2).

    The spike-induced currents are part of the model and may accumulate (R_j = 1, small
    k_j), so |V| < 1 V holds only while the total drive stays within the input range; the
    bound below holds for every valid parameter set.  I1, I2 enter each step at their
    post-reset values.  A hard reset may raise V to V_reset (the threshold can sink below it);
    a soft reset with a threshold below V_reset *raises* V (see
    GIF_SOFT_RESET_GUARDED); until the core prevents that, neurons where it happened are only
    checked for finiteness.
    """
    T, n = spk.shape
    R = params["R"]
    V0 = np.asarray(u.get_mantissa(states0["V"]))
    V_th0 = np.asarray(u.get_mantissa(states0["V_th"]))
    prev_spk = np.vstack([(V0 >= V_th0)[None], spk[:-1] > 0])  # step 0 resets if the initial state spikes
    drive = RI.copy()
    for j in ("1", "2"):
        I_prev = np.vstack([np.asarray(u.get_mantissa(states0["I" + j]))[None], rec["I" + j][:-1]])
        I_post = np.where(prev_spk, params["R" + j] * I_prev + params["A" + j], I_prev)
        drive = drive + R * I_post
    V_th_prev = np.vstack([V_th0[None], rec["V_th"][:-1]])
    raised = prev_spk & (V_th_prev < params["V_reset"])
    skip = None
    if spk_reset == "soft" and not GIF_SOFT_RESET_GUARDED:
        skip = np.broadcast_to(np.any(raised, axis=0), (T, n))
    check_between(rec["V"], V0, params["V_reset"], params["V_rest"] + drive.min(axis=0),
                  params["V_rest"] + drive.max(axis=0), ctx, bad_neurons, skip=skip, reset_above=True)


def check_refractory(name, params, dt, spk, rec, spk_reset, ctx, bad_neurons, t0_step=0, left0=None):
    """The refractory rule to the step, and the bookkeeping states that record it."""
    T, n = spk.shape
    n_ref = n_ref_steps(params["tau_ref"], dt)
    spiking = spk > 0
    held_states = [k for k in rec if k not in ("last_spike_time", "ref_steps_left", "refractory")]
    # 1. ref_steps_left follows its recursion, refractory = held or spiking
    left = rec["ref_steps_left"].astype(np.int64)
    prev_left = np.vstack([np.zeros((1, n), np.int64) if left0 is None else left0[None], left[:-1]])
    want_left = np.where(spiking, np.maximum(n_ref - 1, 0), np.maximum(prev_left - 1, 0))
    assert np.array_equal(left, want_left), f"{ctx}: ref_steps_left off for neurons {bad_neurons(left != want_left)}"
    held = prev_left > 0
    assert np.array_equal(rec["refractory"], held | spiking), \
        f"{ctx}: refractory flag wrong for neurons {bad_neurons(rec['refractory'] != (held | spiking))}"
    # 2. while held: no spike unless (soft reset) the post-reset state is still above threshold;
    #    the held state does not change after its first held step
    if spk_reset == "hard":
        bad = held & spiking
        assert not bad.any(), f"{ctx}: spike inside the refractory period for neurons {bad_neurons(bad)}"
    steady = held[1:] & ~spiking[:-1]  # a held step after a quiet step keeps the state exactly
    for key in held_states:
        x = rec[key]
        changed = steady & (x[1:] != x[:-1])
        assert not changed.any(), f"{ctx}: state {key} moved while refractory for neurons {bad_neurons(changed)}"
    quiet_start = held[1:] & ~spiking[:-1]  # a held step after a quiet step cannot spike
    bad = quiet_start & spiking[1:]
    assert not bad.any(), f"{ctx}: spike inside the refractory period for neurons {bad_neurons(bad)}"
    # 3. every spike that ends a refractory chain is followed by n_ref - 1 silent steps
    steps = np.arange(T)[:, None]
    last = np.where(spiking, steps, -1)
    last = np.maximum.accumulate(last, axis=0)
    since = np.where(last >= 0, steps - last, np.iinfo(np.int64).max)
    early = spiking & (since == 0)
    prev_spike = np.vstack([np.full((1, n), -1), last[:-1]])
    gap = steps - prev_spike
    too_early = early & (prev_spike >= 0) & (gap > 1) & (gap < n_ref)
    assert not too_early.any(), f"{ctx}: inter-spike interval shorter than n_ref for neurons {bad_neurons(too_early)}"
    # 4. last_spike_time = t of the last spike step (t = i * dt in float32), else unchanged
    t = (np.arange(T, dtype=np.int64) + t0_step).astype(np.int32).astype(np.float32) * np.float32(dt)
    lst = rec["last_spike_time"]
    spike_t = np.broadcast_to(t[:, None], (T, n))
    ok = np.where(spiking, lst == spike_t, True)
    assert ok.all(), f"{ctx}: last_spike_time is not t at a spike for neurons {bad_neurons(~ok)}"
    ok = np.where(~spiking[1:], lst[1:] == lst[:-1], True)
    assert ok.all(), f"{ctx}: last_spike_time changed without a spike for neurons {bad_neurons(~ok)}"


# --------------------------------------------------------------------------
# valid-parameter fuzz
# --------------------------------------------------------------------------
