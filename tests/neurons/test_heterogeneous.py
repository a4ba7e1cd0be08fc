"""Heterogeneous parameters: per-neuron arrays and ``braintools.init`` initializers.

Every parameter of every model can be given per neuron -- as an array broadcastable
to the group shape, or as a ``braintools.init`` initializer drawn at construction
(e.g. ``tau=braintools.init.Normal(10 * u.ms, 2 * u.ms)``).  A neuron of a
heterogeneous population must behave exactly like a group made of that neuron's
parameters alone.
"""

import brainstate
import braintools
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from _run import run
from registry import NAMES, SPIKING_CURRENT_MA
from fuzz_support import (N_NEURONS, N_STEPS, check_run, initial_states, params_of_instance, sample_input_mV,
                       sample_params, simulate)

DT = 0.1
#: a population with per-neuron parameter arrays vs separate groups with scalar parameters: the
#: scalar propagators (exp(-dt/tau), exprel) are constant-folded at compile time, the array ones
#: computed at run time, and the two may differ in the last bit.  Such a 1-ulp difference in the
#: decay factor leaves a bias of at most (tau/dt) x ulp(|V|) ~ 400 x 1.2e-7 mV at |V| ~ 1 mV,
#: tau = 40 ms (observed 1.8e-7 mV); for Gif's |V| ~ 70 mV, tau = 35 ms: 350 x 7.6e-6 mV.
#: Spike trains are identical.  (Within one compiled function -- below -- results are bitwise.)
SCALAR_VS_ARRAY_ATOL = {"LIF": 5e-5, "GifRef": 3e-3}


def _specs(name):
    return lq.MODELS[name]._PARAMS


def _kw(name):
    return {"ref_var": True} if lq.MODELS[name]._REFRACTORY else {}


# --------------------------------------------------------------------------
# the brief's example, through the ordinary API: N separate runs
# --------------------------------------------------------------------------
def test_lif_population_equals_separate_neurons():
    taus = np.array([2., 5., 13., 40.], np.float32)
    x = np.float32(1.4 + 0.3 * np.random.default_rng(0).standard_normal((400, 4)))
    spk, rec = run(lq.LIF(4, tau=taus * u.ms, V_th=1. * u.mV), x)
    assert spk.sum() > 0
    for j, tau in enumerate(taus):
        spk_j, rec_j = run(lq.LIF(1, tau=float(tau) * u.ms, V_th=1. * u.mV), x[:, j:j + 1])
        np.testing.assert_array_equal(spk_j[:, 0], spk[:, j])
        np.testing.assert_allclose(rec_j["V"][:, 0], rec["V"][:, j], rtol=0, atol=SCALAR_VS_ARRAY_ATOL["LIF"])


def test_gifref_population_equals_separate_neurons():
    """Several parameters per neuron at once, incl. tau_ref and the refractory bookkeeping."""
    kw = dict(tau=np.array([10., 20., 35.]) * u.ms, tau_ref=np.array([0., 1.7, 5.]) * u.ms,
              a=np.array([0.005, 0., -0.01]) / u.ms, A2=np.array([-0.5, 0., -1.]) * u.mA,
              R2=np.array([1., 1., 0.5]), V_th_reset=np.array([-60., -58., -62.]) * u.mV)
    x = np.full((600, 3), 2.5, np.float32)
    record = ("V", "V_th", "I2", "last_spike_time", "ref_steps_left")
    spk, rec = run(lq.GifRef(3, **kw), x, record=record)
    assert spk.sum(axis=0).min() > 0
    for j in range(3):
        single = {k: (v[j:j + 1] if isinstance(v, u.Quantity) else v[j:j + 1]) for k, v in kw.items()}
        spk_j, rec_j = run(lq.GifRef(1, **single), x[:, j:j + 1], record=record)
        np.testing.assert_array_equal(spk_j[:, 0], spk[:, j])
        for key in ("last_spike_time", "ref_steps_left"):
            np.testing.assert_array_equal(rec_j[key][:, 0], rec[key][:, j], err_msg=key)
        for key in ("V", "V_th", "I2"):
            np.testing.assert_allclose(rec_j[key][:, 0], rec[key][:, j], rtol=0, atol=SCALAR_VS_ARRAY_ATOL["GifRef"],
                                       err_msg=key)


# --------------------------------------------------------------------------
# every model, every parameter per neuron: no cross-talk between neurons
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_each_neuron_depends_only_on_its_own_parameters(name):
    """A random heterogeneous population (every parameter an array) vs the same group with
    neuron k's parameters given to every neuron: neuron k's trajectory is identical."""
    rng = np.random.default_rng(7)
    params = sample_params(name, rng, N_NEURONS, DT)
    states = initial_states(name, N_NEURONS)
    currents = np.float32(sample_input_mV("mixed", rng, N_NEURONS, N_STEPS) / params["R"])
    _, spk, rec = simulate(name, params, states, currents, DT)
    check_run(name, params, states, currents * params["R"], DT, spk, rec, "soft")
    for k in (0, 1, N_NEURONS - 1):
        same = {key: np.full(N_NEURONS, value[k], np.float32) for key, value in params.items()}
        cur_k = np.broadcast_to(currents[:, k:k + 1], currents.shape)
        _, spk_k, rec_k = simulate(name, same, states, cur_k, DT)
        np.testing.assert_array_equal(spk_k[:, 0], spk[:, k])
        for key in rec:
            np.testing.assert_array_equal(rec_k[key][:, 0], rec[key][:, k], err_msg=f"{name}: {key}")


# --------------------------------------------------------------------------
# braintools.init initializers for every parameter
# --------------------------------------------------------------------------
#: (low, high) of a valid per-neuron spread around each model's defaults; the orderings the
#: models check (V_th > V_reset, V_c > V_rest, (V_th - V_T)/delta_T <= 40, ...) hold for all draws
def _ranges(name):
    specs = _specs(name)
    default = {k: v for k, v in params_of_instance(lq.MODELS[name](1)).items()}
    out = {}
    for key, spec in specs.items():
        d = float(default[key][0])
        if key in ("tau", "tau_w", "tau_a", "R"):
            out[key] = (0.5 * d, 2. * d)
        elif key == "tau_ref":
            out[key] = (0., 2. * d)
        elif spec.unit is None:  # Gif R1, R2
            out[key] = (0., 1.) if key == "R1" else (0.5, 1.)
        elif key == "beta":  # >= 0: a threshold that falls with each spike runs away (see test_fuzz)
            out[key] = (0.5 * d, 1.5 * d)
        elif str(spec.unit) == "mV":  # voltages: +-0.2 mV jitter keeps every ordering
            out[key] = (d - 0.2, d + 0.2)
        elif key == "delta_T":
            out[key] = (0.9 * d, 1.1 * d)
        elif key == "c":
            out[key] = (0.5 * d, 1.5 * d)
        elif key in ("b", "k1", "k2") and name.startswith("Gif"):
            out[key] = (0.5 * d, 1.5 * d)
        else:  # a, b of the adaptive models, Gif a, A1, A2: around the default, either sign allowed
            out[key] = (d - 0.1 * max(abs(d), 1.), d + 0.1 * max(abs(d), 1.))
    return out


@pytest.mark.parametrize("initializer", ["Uniform", "Normal"])
@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_accepts_initializers(name, initializer):
    specs = _specs(name)
    brainstate.random.seed(11)
    kw = {}
    for key, (lo, hi) in _ranges(name).items():
        unit = specs[key].unit
        q = (lambda v: v) if unit is None else (lambda v, unit=unit: v * unit)
        if initializer == "Uniform" or key in ("tau_ref", "b", "k1", "k2") or unit is None:
            kw[key] = braintools.init.Uniform(q(lo), q(hi))  # Normal could draw a negative time constant
        else:
            kw[key] = braintools.init.Normal(q((lo + hi) / 2.), q((hi - lo) / 8.))
    if name.startswith("Gif") and initializer == "Normal":
        kw["R2"] = braintools.init.Uniform(0.5, 1.)
    model = lq.MODELS[name](N_NEURONS, **_kw(name), **kw)
    for key, (lo, hi) in _ranges(name).items():
        value = getattr(model, key)
        unit = specs[key].unit
        arr = np.asarray(u.get_mantissa(value) if unit is None else value.to_decimal(unit))
        assert arr.shape == (N_NEURONS,), (key, arr.shape)
        assert np.unique(arr).size > N_NEURONS // 2, f"{key}: not drawn per neuron"
        if initializer == "Uniform":
            assert arr.min() >= lo - 1e-6 * abs(lo) and arr.max() <= hi + 1e-6 * abs(hi), key
    # the drawn population runs like any other (one compiled run shared with the other tests)
    params = params_of_instance(model)
    states = initial_states(name, N_NEURONS)
    RI = np.full((N_STEPS, N_NEURONS), 2. * SPIKING_CURRENT_MA[name]) * params["R"]
    currents = np.float32(RI / params["R"])
    _, spk, rec = simulate(name, params, states, currents, DT)
    check_run(name, params, states, currents * params["R"], DT, spk, rec, "soft")
    assert spk.sum() > 0


def test_initializer_drawing_invalid_values_is_rejected():
    brainstate.random.seed(3)
    with pytest.raises(lq.ParameterError, match="'tau' must be > 0"):
        lq.LIF(200, tau=braintools.init.Normal(1. * u.ms, 5. * u.ms))
    with pytest.raises(lq.ParameterError, match="V_th must be larger than V_reset"):
        lq.LIF(200, V_th=braintools.init.Uniform(-1. * u.mV, 1. * u.mV))
    with pytest.raises(TypeError, match="'tau' must be .*time"):
        lq.LIF(5, tau=braintools.init.Uniform(1. * u.mV, 2. * u.mV))
    with pytest.raises(lq.ParameterError, match="'tau_ref' must be >= 0"):
        lq.LIFRef(50, tau_ref=braintools.init.Uniform(-1. * u.ms, 1. * u.ms))


# --------------------------------------------------------------------------
# shapes: 2-D groups, broadcasting, batch axis
# --------------------------------------------------------------------------
def test_broadcasting_over_a_2d_group():
    """A (2, 3) group: parameters per row, per column or per neuron."""
    per_column = np.array([4., 8., 16.]) * u.ms
    per_row = np.array([[0.8], [1.2]]) * u.mV
    model = lq.LIFRef((2, 3), tau=per_column, V_th=per_row, tau_ref=np.full((2, 3), 1.) * u.ms)
    x = np.full((300, 2, 3), 1.5, np.float32)
    spk, rec = run(model, x)
    single = lq.LIFRef(1, tau=per_column[2:3], V_th=per_row[1], tau_ref=1. * u.ms)
    spk_12, rec_12 = run(single, x[:, 1, 2:3])
    np.testing.assert_array_equal(spk_12[:, 0], spk[:, 1, 2])
    np.testing.assert_allclose(rec_12["V"][:, 0], rec["V"][:, 1, 2], rtol=0, atol=SCALAR_VS_ARRAY_ATOL["LIF"])
    # rows differ by V_th, columns by tau
    assert not np.array_equal(spk[:, 0, 0], spk[:, 1, 0]) and not np.array_equal(spk[:, 0, 0], spk[:, 0, 2])


def test_per_neuron_parameters_with_a_batch_axis():
    """Parameters vary along the neuron axis and broadcast over the batch axis."""
    name = "LIFRef"
    rng = np.random.default_rng(5)
    params = sample_params(name, rng, N_NEURONS, DT)
    states = initial_states(name, N_NEURONS, batch=2)
    single = np.float32(sample_input_mV("noisy", rng, N_NEURONS, N_STEPS) / params["R"])
    currents = np.stack([single, single], axis=1)  # (T, 2, N): both batch rows get the same input
    _, spk, rec = simulate(name, params, states, currents, DT, spk_reset="hard")
    assert spk.shape == (N_STEPS, 2, N_NEURONS) and spk.sum() > 0
    np.testing.assert_array_equal(spk[:, 0], spk[:, 1])
    for key in rec:
        np.testing.assert_array_equal(rec[key][:, 0], rec[key][:, 1], err_msg=key)
    # the unbatched group: a different compiled program (other fusions), so equal to rounding only
    unbatched = initial_states(name, N_NEURONS)
    _, spk_u, rec_u = simulate(name, params, unbatched, single, DT, spk_reset="hard")
    np.testing.assert_array_equal(spk_u, spk[:, 0])
    np.testing.assert_allclose(rec_u["V"], rec["V"][:, 0], rtol=1e-5, atol=1e-4)
