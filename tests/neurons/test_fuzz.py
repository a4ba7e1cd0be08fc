"""Property-based fuzzing of all 13 models (hypothesis).

Valid parameters
----------------
Every example runs ``N_NEURONS`` neurons, **each with its own random
parameters** (per-neuron parameter arrays), its own initial state and its own
input, for ``N_STEPS`` steps of a ``dt`` drawn from [0.001, 1] ms, in one
compiled run.  Hypothesis draws the seed of the parameter/state/input
generator, ``dt`` and the input kind; the reset rule (``soft``/``hard``) is a
test parameter.  One compiled function per (model, reset) serves every
example: parameters, states, inputs, ``dt`` and the start step are traced
arguments (:func:`runner`).

The documented valid ranges (``R I`` is the input in mV; currents are drawn
as ``R I / R``):

==================  ====================================================
all models          tau 0.5-200 ms, R 0.1-100 ohm, R I in [-50, 500] mV
IF                  V_th 0.1-50 mV
LIF, LIFRef, ALIF   V_rest -80..0 mV, V_reset = V_rest - 20..+10 mV,
                    V_th = V_reset + 0.1..60 mV
ALIF                tau_a 0.5-200 ms, beta 0-10 mV (>= 0: the threshold
                    rises with adaptation)
*Ref                tau_ref 0-10 ms (also exact multiples of dt, and 0)
ExpIF family        V_rest -80..-40 mV, delta_T 0.5-10 mV,
                    V_T = V_rest - 5..+25 mV,
                    (V_th - V_T)/delta_T in [-1, 39.9],
                    V_reset = V_th - 0.5..40 mV
QuaIF family        V_rest -80..-40 mV, c 0.01-0.2 /mV,
                    V_c = V_rest + 1..30 mV, V_th = V_rest + 2..90 mV,
                    V_reset = V_th - 0.5..60 mV
adaptation (Ad*)    tau_w 0.5-200 ms, R a in [-0.5, 5] (R a > -1 keeps
                    the subthreshold V-w system stable), R b 0-50 mV
Gif family          V_rest -80..-50 mV, V_reset = V_rest - 10..+5 mV,
                    V_th_inf = V_reset + 1..40 mV,
                    V_th_reset = V_reset + 0.5..30 mV, a in [-0.1, 0.1]
                    /ms (may be negative), b 0-0.2 /ms,
                    k1, k2 0.005-1 /ms (or 0), R1, R2 in [0, 1],
                    R A_j in [-20, 20] mV, depolarizing (A_j > 0) only
                    with R_j <= 0.5, so that the spike-induced currents
                    cannot grow without bound (R I_j <= R A_j/(1 - R_j))
initial states      V0 = V_reset - 10 .. V_th + 5 mV (Gif: .. V_th_inf +
                    5), R w0 in [-20, 50] mV, a0 in [0, 5],
                    R I1_0, R I2_0 in [-10, 10] mV,
                    V_th0 = V_th_inf - 5..+10 mV (> V_reset)
==================  ====================================================

Input kinds: constant, noisy (Gaussian, sigma up to 200 mV, clipped),
steps (piecewise constant), large (+500 / -50 mV, constant or alternating
every step) and mixed (each neuron its own kind).

Checked on every step of every neuron: all states finite, spikes exactly 0
or 1; the linear models (IF, LIF, LIFRef, ALIF) stay between
``min(V0, V_reset, V_rest + min R I)`` and ``max(V0, V_rest + max R I)`` (so
|V| < 1 V); the divergent models never store ``V > V_th`` and (once the core
has the downward guard, ``DIVERGENT_LOWER_BOUND_GUARDED``) never fall below
where their drive ``R (I - w)`` can take them, which for ExpIF/QuaIF means
|V| < 1 V; Gif stays within the bounds set by its total drive
``R (I + I1 + I2)``.  Adaptation and spike-induced currents are part of the
models and may legitimately take V beyond -1 V (e.g. AdEx with R b = 47 mV
after a burst), so for Ad* and Gif the bound is relative to the drive.  The
``*Ref`` models follow the refractory rule to the step
(``n_ref = ceil(tau_ref/dt - 1e-3)``: after a spike the state is held for
``n_ref - 1`` steps, no spike in between -- with soft reset a spike on the very
next step is allowed when the post-reset state is still above threshold, as in
the reference), and ``ref_steps_left``, ``refractory`` and ``last_spike_time``
agree with it.

Invalid parameters (no compilation needed, so many examples): every model,
every parameter, made non-positive / negative / non-finite / unit-less /
of the wrong dimension / of the wrong shape, as a scalar or as one bad entry
in a per-neuron array, plus broken cross-parameter orderings -- always
rejected at construction with a ``ValueError`` or ``TypeError`` naming the
parameter.

Example counts: ``LAPICQUE_FUZZ_EXAMPLES`` (default 4) examples per
(model, reset) for the valid fuzz (each covers ``N_NEURONS`` parameter
sets) and 25x that many (default 100) per model for the invalid fuzz.  With
the variable set the run is also randomized (no fixed derandomized seed),
e.g. ``LAPICQUE_FUZZ_EXAMPLES=200 pytest tests/test_fuzz.py``.
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
from fuzz_support import (EXAMPLES, FUZZ_SETTINGS, INPUT_KINDS, INVALID_EXAMPLES, N_NEURONS, N_STEPS,  # noqa: F401
                          V_ABS_MAX_MV, _specs, check_run, initial_states, params_of_instance, sample_input_mV,
                          sample_params, sample_states, simulate)

DT_STRATEGY = st.one_of(
    st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0]),
    st.floats(min_value=math.log(0.001), max_value=0.0).map(math.exp),
).map(lambda x: float(np.clip(np.float32(x), np.float32(0.001), np.float32(1.0))))


@pytest.mark.parametrize("spk_reset", ["soft", "hard"])
@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=EXAMPLES, **FUZZ_SETTINGS)
@given(seed=st.integers(0, 2 ** 32 - 1), dt=DT_STRATEGY, kind=st.sampled_from(INPUT_KINDS))
def test_valid_parameters_never_misbehave(name, spk_reset, seed, dt, kind):
    rng = np.random.default_rng(seed)
    params = sample_params(name, rng, N_NEURONS, dt, spk_reset)
    # the same arrays must pass construction-time validation (concrete, outside jit)
    specs = _specs(name)
    lq.MODELS[name](N_NEURONS, spk_reset=spk_reset, **{
        k: (v if specs[k].unit is None else v * specs[k].unit) for k, v in params.items()})
    states = sample_states(name, rng, params, initial_states(name, N_NEURONS))
    RI = sample_input_mV(kind, rng, N_NEURONS, N_STEPS)
    currents = np.float32(RI / params["R"])
    _, spk, rec = simulate(name, params, states, currents, dt, spk_reset=spk_reset)
    check_run(name, params, states, currents * params["R"], dt, spk, rec, spk_reset,
              where=f", input {kind}, seed {seed}")


def test_checks_catch_a_broken_refractory_rule():
    """The refractory checker itself rejects a one-step-short refractory period."""
    name, dt = "LIFRef", 0.1
    params = params_of_instance(lq.LIFRef(4, tau_ref=1. * u.ms))
    states = initial_states(name, 4)
    _, spk, rec = simulate(name, params, states, np.full((N_STEPS, 4), 50., np.float32), dt)
    assert spk.sum() > 10
    check_run(name, params, states, np.full((N_STEPS, 4), 50.), dt, spk, rec, "soft")
    broken = dict(params, tau_ref=params["tau_ref"] + np.float32(dt))  # checker expects one more held step
    with pytest.raises(AssertionError, match="ref_steps_left|interval|refractory"):
        check_run(name, broken, states, np.full((N_STEPS, 4), 50.), dt, spk, rec, "soft")


# --------------------------------------------------------------------------
# invalid-parameter fuzz
# --------------------------------------------------------------------------
#: a unit of another dimension for each parameter unit (matched by dimension: saiunit >= 0.6
#: prints 1/ms as kHz)
_OTHER_UNIT = ((u.ms, u.mV), (u.mV, u.ms), (u.ohm, u.mV), (u.siemens, u.ms), (u.mA, u.ms),
               (u.ms ** -1, u.mV), (u.mV ** -1, u.ms))


def _other_unit(unit):
    return next(other for ref, other in _OTHER_UNIT if u.have_same_dim(1. * ref, 1. * unit))


def _cross_violations(name):
    """Broken orderings: (description, params -> params with the ordering broken, names in the message)."""
    out = []
    specs = _specs(name)
    if name == "IF":
        out.append(("V_th <= 0", lambda p, r: dict(p, V_th=-r * p["V_th"]), ("V_th",)))
    elif "V_th" in specs and "V_reset" in specs:
        out.append(("V_th <= V_reset", lambda p, r: dict(p, V_reset=p["V_th"] + r * 5.), ("V_th", "V_reset")))
    if "delta_T" in specs:
        out.append(("(V_th - V_T)/delta_T > 40",
                    lambda p, r: dict(p, V_th=p["V_T"] + p["delta_T"] * (40.5 + 10. * r),
                                      V_reset=np.minimum(p["V_reset"], p["V_T"])), ("V_th", "V_T", "delta_T")))
    if "V_c" in specs:
        out.append(("V_c <= V_rest", lambda p, r: dict(p, V_c=p["V_rest"] - r * 5.), ("V_c", "V_rest")))
    if "V_th_inf" in specs:
        out.append(("V_th_inf <= V_reset", lambda p, r: dict(p, V_th_inf=p["V_reset"] - r * 5.),
                    ("V_th_inf", "V_reset")))
        out.append(("V_th_reset <= V_reset", lambda p, r: dict(p, V_th_reset=p["V_reset"] - r * 5.),
                    ("V_th_reset", "V_reset")))
    return out


def _single_violations(name):
    """(parameter, kind) pairs that must be rejected on their own."""
    out = []
    for k, spec in _specs(name).items():
        if spec.constraint == "positive":
            out += [(k, "zero"), (k, "negative")]
        if spec.constraint == "nonnegative":
            out.append((k, "negative"))
        out += [(k, "nan"), (k, "inf"), (k, "shape")]
        if spec.unit is not None:
            out += [(k, "no_unit"), (k, "wrong_unit")]
        else:
            out.append((k, "with_unit"))
    return out


def _quantities(name, p):
    specs = _specs(name)
    return {k: (v if specs[k].unit is None else np.asarray(v, np.float32) * specs[k].unit) for k, v in p.items()}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=INVALID_EXAMPLES, **FUZZ_SETTINGS)
@given(data=st.data())
def test_invalid_parameters_always_rejected(name, data):
    n = 8
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    params = {k: np.asarray(v, np.float64) for k, v in sample_params(name, rng, n, 0.1).items()}
    whole_array = data.draw(st.booleans(), label="whole array (else one bad entry)")
    bad_index = data.draw(st.integers(0, n - 1), label="bad entry")
    singles, crosses = _single_violations(name), _cross_violations(name)
    case = data.draw(st.sampled_from(singles + [("cross", c[0]) for c in crosses]), label="violation")
    specs = _specs(name)

    def corrupt(arr, value):
        arr = np.array(arr)
        if whole_array:
            arr[:] = value
        else:
            arr[bad_index] = value
        return arr

    if case[0] == "cross":
        desc, fn, names = next(c for c in crosses if c[0] == case[1])
        r = data.draw(st.floats(0., 3.), label="overshoot")
        broken = fn(params, r)
        mask = np.ones(n, bool) if whole_array else (np.arange(n) == bad_index)
        kw = {k: np.where(mask, broken[k], params[k]) for k in params}
        expect_names = names
        expected = ValueError
    else:
        key, kind = case
        expect_names = (key,)
        expected = ValueError
        kw = _quantities(name, params)
        spec = specs[key]
        if kind in ("zero", "negative", "nan", "inf"):
            value = {"zero": 0., "negative": -data.draw(st.floats(1e-6, 1e3), label="magnitude"),
                     "nan": np.nan, "inf": data.draw(st.sampled_from([np.inf, -np.inf]), label="sign")}[kind]
            arr = corrupt(params[key], value)
            kw[key] = arr if spec.unit is None else arr * spec.unit
        elif kind == "shape":
            arr = np.resize(params[key], n + data.draw(st.integers(1, 3), label="extra"))
            kw[key] = arr if spec.unit is None else arr * spec.unit
        elif kind == "no_unit":
            kw[key] = params[key] if whole_array else float(params[key][0])
            expected = TypeError
        elif kind == "wrong_unit":
            kw[key] = params[key] * _other_unit(spec.unit)
            expected = TypeError
        elif kind == "with_unit":
            kw[key] = params[key] * u.mV
            expected = TypeError
        else:  # pragma: no cover
            raise AssertionError(kind)
    if case[0] == "cross":
        kw = _quantities(name, kw)
    with pytest.raises(expected) as err:
        lq.MODELS[name](n, **kw)
    msg = str(err.value)
    assert all(k in msg for k in expect_names), f"{name}: the error for {case} does not name {expect_names}: {msg}"
    assert name in msg, f"{name}: the error for {case} does not name the model: {msg}"


@pytest.mark.parametrize("name", NAMES)
def test_invalid_reset_and_size_rejected(name):
    with pytest.raises(ValueError, match="spk_reset"):
        lq.MODELS[name](3, spk_reset="medium")
    for bad in (0, -2, 2.5, (), (3, 0), True):
        with pytest.raises(ValueError, match="in_size"):
            lq.MODELS[name](bad)


# --------------------------------------------------------------------------
# regression tests for the core issues the fuzz found (see the flags above)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["ExpIF", "QuaIF", "AdExIF"])
def test_divergent_step_does_not_overshoot_downward(case):
    import braintools

    if case == "ExpIF":
        model = lq.ExpIF(1, tau=1. * u.ms, V_initializer=braintools.init.Constant(-50. * u.mV))
    elif case == "AdExIF":
        model = lq.AdExIF(1, tau=1. * u.ms, V_th=-30. * u.mV, a=0. * u.siemens,
                          V_initializer=braintools.init.Constant(-50. * u.mV))
    else:
        model = lq.QuaIF(1, tau=0.5 * u.ms, c=0.2 / u.mV, V_c=-35. * u.mV,
                         V_initializer=braintools.init.Constant(-36. * u.mV))
    with brainstate.environ.context(dt=1. * u.ms):
        model.init_state()
        model.update(-50. * u.mA)  # R I = -50 mV, dt = 1 ms: inside the valid ranges
    V = float(model.V.value.to_decimal(u.mV)[0])
    # the true solution decays towards its stable fixed point, which lies above V_rest + R I = -115 mV
    assert V > -120., f"{case}: one step from a resolved state went to V = {V:.4g} mV"


def test_gif_soft_reset_negative_a_stays_bounded():
    name = "Gif"
    params = params_of_instance(lq.Gif(4, a=-0.1 / u.ms))
    states = initial_states(name, 4)
    T = 2 * N_STEPS
    currents = np.full((T, 4), 10., np.float32)  # R I = 200 mV
    V = []
    for chunk in range(8):  # 8 x 500 steps of 1 ms: NaN after ~1700 steps before the fix
        states, spk, rec = simulate(name, params, states, currents, 1.0, i0=chunk * T, spk_reset="soft")
        V.append(rec["V"])
    V = np.concatenate(V)
    assert np.all(np.isfinite(V)) and np.abs(V).max() < V_ABS_MAX_MV, f"max |V| = {np.abs(V).max()} mV"


@pytest.mark.parametrize("name", ["ExpIF", "QuaIF", "AdQuaIF"])
def test_divergent_gradients_finite_above_rheobase(name):
    """Surrogate gradients stay finite through the guarded step (a guard built on sqrt(max(x, 0))
    or a where() with an infinite branch would give NaN here)."""
    def loss(x):
        model = lq.MODELS[name](2)
        with brainstate.environ.context(dt=0.5 * u.ms):
            model.init_state()
            total = 0.
            for _ in range(20):
                total = total + model.update(x * u.mA).sum() + 1e-3 * model.V.value.to_decimal(u.mV).sum()
        return total

    for x in (1., 40., -50.):
        g = jax.grad(loss)(jnp.float32(x))
        assert np.isfinite(g), f"{name}: gradient {g} at x = {x} mA"
