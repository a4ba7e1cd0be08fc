"""Unitless mode (issue 23): neurons built from plain numbers run on plain arrays, as brainpy.state's do.

SNN training code writes ``LIF(100, tau=5., V_th=1., R=1.)`` under
``brainstate.environ.set(dt=1.)``.  A neuron whose dimensional parameters were given
as plain numbers runs unitless: its states, inputs and the environment's ``dt`` / ``t``
are plain numbers read in the canonical units (ms, mV, mA, ...; the defaults are taken
in them).  The math is the united path's, so the runs equal its mantissas.  Mixing
plain numbers and quantities is a TypeError naming what was expected.
"""

import inspect

import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq

pytestmark = pytest.mark.filterwarnings("ignore::lapicque.CoarseTimeStepWarning")

#: model -> (input mantissa in the model's input unit, dt in ms)
DRIVE = {
    "IF": (5., 0.1), "LIF": (5., 0.1), "LIFRef": (5., 0.1), "ALIF": (5., 0.1),
    "ExpIF": (5., 0.1), "ExpIFRef": (5., 0.1), "AdExIF": (30., 0.1), "AdExIFRef": (30., 0.1),
    "QuaIF": (10., 0.1), "AdQuaIF": (40., 0.1), "AdQuaIFRef": (40., 0.1), "Gif": (2., 0.1), "GifRef": (2., 0.1),
    "Izhikevich": (30., 0.1), "IzhikevichRef": (30., 0.1), "FitzHughNagumo": (0.5, 0.05),
    "HindmarshRose": (3., 0.05), "CubaLIF": (5., 0.1), "CobaLIF": (5., 0.1),
}
NAMES = tuple(DRIVE)
#: the models brainpy.state itself runs on plain numbers (its Ref models compare a time quantity with a plain
#: tau_ref, its Izhikevich adds quantities of fixed units: both raise a UnitMismatchError)
REFERENCE_RUNS = ("IF", "LIF", "ALIF", "ExpIF", "AdExIF", "QuaIF", "AdQuaIF", "Gif", "FitzHughNagumo",
                  "HindmarshRose", "CubaLIF", "CobaLIF")
STEPS = 400


def _cls(name):
    return getattr(lq, name)


def _units_of(cls):
    """{constructor argument: canonical unit} of the dimensional parameters and initializers."""
    units = {n: spec.unit for n, spec in cls._PARAMS.items()}
    units.update({spec.initializer: spec.unit for spec in cls._STATE_TABLE.values()
                  if isinstance(spec.initializer, str)})
    return units


def _plain(value, unit):
    if isinstance(value, braintools.init.Constant):
        return braintools.init.Constant(_plain(value.value, unit))
    if isinstance(value, u.Quantity):
        return float(np.asarray(value.to_decimal(unit)))
    return value


def plain_kwargs(cls):
    """Every default of ``cls``, as the plain number a unitless script writes (in the canonical unit)."""
    units = _units_of(cls)
    out = {}
    for n, p in list(inspect.signature(cls.__init__).parameters.items())[2:]:
        if n in units and p.default is not inspect.Parameter.empty and p.default is not None:
            out[n] = _plain(p.default, units[n])
    return out


def _inputs(name, n=8):
    amp, _ = DRIVE[name]
    rng = np.random.default_rng(3)
    return (amp * rng.uniform(0.6, 1.2, size=(STEPS, n))).astype(np.float32)


def run_plain(model, I, dt, record=("V",)):
    """The unitless script: plain dt and t, a plain input array, the user's own for_loop."""
    with brainstate.environ.context(dt=dt):
        model.init_state()

        def step(i, x):
            with brainstate.environ.context(t=i * dt):
                spk = model.update(x)
            return spk, {k: getattr(model, k).value for k in record}

        spk, rec = brainstate.transform.for_loop(step, jnp.arange(I.shape[0]), jnp.asarray(I))
    return np.asarray(spk), {k: np.asarray(v) for k, v in rec.items()}


def run_united(model, I, dt, record=("V",), like=None):
    """The same script with units: dt and t in ms, the input in the input unit of the lapicque class ``like``
    (default: the model's own); mantissas back."""
    unit = (like or type(model))._INPUT_UNIT
    x = jnp.asarray(I) if unit is None else u.Quantity(jnp.asarray(I), unit=unit)
    with brainstate.environ.context(dt=dt * u.ms):
        model.init_state()

        def step(i, xi):
            with brainstate.environ.context(t=i * dt * u.ms):
                spk = model.update(xi)
            return spk, {k: u.get_mantissa(getattr(model, k).value) for k in record}

        spk, rec = brainstate.transform.for_loop(step, jnp.arange(I.shape[0]), x)
    return np.asarray(spk), {k: np.asarray(v) for k, v in rec.items()}


def _record(cls):
    return tuple(n for n, spec in cls._STATES.items() if spec.kind is brainstate.HiddenState)


@pytest.mark.parametrize("name", NAMES)
def test_unitless_run_equals_united_mantissas(name):
    cls = _cls(name)
    I = _inputs(name)
    dt = DRIVE[name][1]
    plain = cls(8, **plain_kwargs(cls))
    assert plain.unitless
    s1, r1 = run_plain(plain, I, dt, record=_record(cls))
    united = cls(8)
    assert not united.unitless
    s2, r2 = run_united(united, I, dt, record=_record(cls))
    assert s1.sum() > 0, "the drive should make the model fire"
    np.testing.assert_array_equal(s1, s2)
    for k in r1:
        assert not isinstance(getattr(plain, k).value, u.Quantity)
        assert np.all(np.isfinite(r1[k])), k
        np.testing.assert_allclose(r1[k], r2[k], rtol=1e-6, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("name", ["LIF", "LIFRef", "Izhikevich", "CobaLIF", "FitzHughNagumo"])
def test_one_plain_parameter_takes_the_defaults_in_canonical_units(name):
    """Only ``tau`` (or ``a``) given: the other defaults are read in ms, mV, ... as plain numbers."""
    cls = _cls(name)
    key = "a" if name == "Izhikevich" else "tau"
    default = inspect.signature(cls.__init__).parameters[key].default
    model = cls(8, **{key: _plain(default, cls._PARAMS[key].unit)})
    assert model.unitless
    I = _inputs(name)
    s1, r1 = run_plain(model, I, DRIVE[name][1])
    s2, r2 = run_united(cls(8), I, DRIVE[name][1])
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_allclose(r1["V"], r2["V"], rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", REFERENCE_RUNS)
def test_unitless_run_equals_brainpy_state_unitless_run(name):
    brainpy = pytest.importorskip("brainpy")
    cls = _cls(name)
    kw = plain_kwargs(cls)
    I = _inputs(name)
    if name in ("ExpIF", "AdExIF", "QuaIF", "AdQuaIF"):
        I = 0.2 * I  # below the cut-off: the reference's step overshoots V_th at a spike (see test_parity)
    dt = DRIVE[name][1]
    s1, r1 = run_plain(cls(8, **kw), I, dt)
    s2, r2 = run_plain(getattr(brainpy.state, name)(8, **kw), I, dt)
    np.testing.assert_array_equal(s1, s2)
    # the two differ exactly as their united runs do (the adaptive models' order of the V and w steps
    # differs slightly from the reference's: 0.04 mV after 400 steps here, with units or without)
    _, u1 = run_united(cls(8), I, dt)
    _, u2 = run_united(getattr(brainpy.state, name)(8), I, dt, like=cls)
    np.testing.assert_allclose(r1["V"] - r2["V"], u1["V"] - u2["V"], atol=1e-4, rtol=0)
    atol = 0.05 if name.startswith("Ad") else 1e-3
    np.testing.assert_allclose(r1["V"], r2["V"], atol=atol, rtol=0)


def test_the_issue_script_runs():
    """The exact script of issue 23, with a set dt and with a dt context."""
    brainstate.environ.set(dt=1.)
    try:
        lif = lq.LIF(100, tau=5., V_th=1., R=1.)
        lif.init_state()
        out = [lif.update(jnp.full(100, 2.)) for _ in range(10)]
        assert isinstance(lif.V.value, jax.Array) and float(jnp.sum(jnp.stack(out))) > 0
        assert not isinstance(lif.threshold(), u.Quantity)
    finally:
        brainstate.environ.pop("dt")
    with brainstate.environ.context(dt=0.1):
        lif.reset_state()
        lif.update(2.)
        lif.update()  # the default input is 0
    assert np.all(np.isfinite(np.asarray(lif.V.value)))


def test_surrogate_gradients_through_a_unitless_lif():
    lif = lq.LIF(4, tau=5., V_th=1., R=1., spk_fun=braintools.surrogate.Sigmoid())

    def loss(w):
        with brainstate.environ.context(dt=1.):
            lif.init_state()

            def step(i, x):
                return lif.update(w * x)

            spk = brainstate.transform.for_loop(step, jnp.arange(20), jnp.ones((20, 4)))
        return jnp.sum(spk) + jnp.sum(lif.V.value)

    g = jax.grad(loss)(jnp.full(4, 1.5))
    assert np.all(np.isfinite(np.asarray(g))) and np.any(np.asarray(g) != 0.)


def test_refractory_and_inputs_in_unitless_mode():
    ref = lq.LIFRef(3, tau=5., tau_ref=2., V_th=1., ref_var=True)
    ref.add_current_input("bias", lambda V: 0.5 - 0.1 * V)
    ref.add_delta_input("kick", 0.2)
    s, r = run_plain(ref, np.full((50, 3), 3., np.float32), 0.5, record=("V", "last_spike_time"))
    assert s.sum() > 0 and np.all(np.isfinite(r["V"]))
    assert not isinstance(ref.last_spike_time.value, u.Quantity)
    assert float(np.max(r["last_spike_time"])) > 0.
    saved = ref.state_dict()
    ref.load_state_dict(saved)
    with pytest.raises(TypeError, match="state 'V' must be a plain number"):
        ref.load_state_dict(dict(saved, V=saved["V"] * u.mV))


# ----------------------------------------------------------------------------------------- mixing is an error
def test_plain_and_quantity_parameters_mixed():
    with pytest.raises(TypeError, match=r"LIF: parameter tau=5.0 is a plain number but V_th=1.0 mV is a quantity"):
        lq.LIF(3, tau=5., V_th=1. * u.mV)
    with pytest.raises(TypeError, match=r"AdExIF: parameter a=1.0 is a plain number but tau=10.0 ms is a quantity"):
        lq.AdExIF(3, tau=10. * u.ms, a=1.)
    with pytest.raises(TypeError, match=r"LIFRef: .*tau_ref=2.0 ms is a quantity"):
        lq.LIFRef(3, tau=5., tau_ref=2. * u.ms)


def test_quantity_initializer_in_a_unitless_neuron():
    lif = lq.LIF(3, tau=5., V_initializer=braintools.init.Constant(-1. * u.mV))
    with pytest.raises(TypeError, match=r"LIF: the initial value of state 'V' .* must be a plain number \(read in mV\)"):
        lif.init_state()


def test_plain_dt_with_a_united_neuron_and_quantity_dt_with_a_unitless_one():
    united = lq.LIF(3, tau=5. * u.ms)
    united.init_state()
    with brainstate.environ.context(dt=0.1):
        with pytest.raises(TypeError, match=r"LIF: brainstate.environ 'dt' must be a time quantity .*plain numbers"):
            united.update(1. * u.mA)
    plain = lq.LIF(3, tau=5.)
    plain.init_state()
    with brainstate.environ.context(dt=0.1 * u.ms):
        with pytest.raises(TypeError, match=r"LIF: brainstate.environ 'dt' must be a plain number \(read in ms\)"):
            plain.update(1.)


def test_plain_t_required_by_a_unitless_ref_model():
    plain = lq.LIFRef(3, tau=5.)
    plain.init_state()
    with brainstate.environ.context(dt=0.1, t=1. * u.ms):
        with pytest.raises(TypeError, match=r"LIFRef: brainstate.environ 't' must be a plain number"):
            plain.update(1.)


@pytest.mark.parametrize("model, x, words", [
    (lambda: lq.LIF(3, tau=5.), 1. * u.mA, "LIF: the input current x must be a plain number (read in mA)"),
    (lambda: lq.Izhikevich(3, a=0.02), 10. * u.mV / u.ms, "Izhikevich: the input x must be a plain number"),
    (lambda: lq.LIF(3), 1., "LIF: the input current x must be a quantity with units of current"),
    (lambda: lq.Izhikevich(3), 10., "Izhikevich: the input x must be a quantity with units of mV / ms"),
])
def test_input_of_the_other_mode(model, x, words):
    m = model()
    m.init_state()
    dt = 0.1 if m.unitless else 0.1 * u.ms
    with brainstate.environ.context(dt=dt):
        with pytest.raises(TypeError) as e:
            m.update(x)
    assert words in str(e.value), str(e.value)


def test_quantity_delta_input_to_a_unitless_neuron():
    m = lq.LIF(3, tau=5.)
    m.init_state()
    m.add_delta_input("kick", 1. * u.mV)
    with brainstate.environ.context(dt=0.1):
        with pytest.raises(TypeError, match="delta input"):
            m.update(0.)


def test_simulate_refuses_a_unitless_model_saying_how():
    """``simulate`` runs with units (its times, currents and results carry them); a unitless model is refused
    with the fix, not run with guessed units. A unitless model runs in the user's own loop, as in brainpy.state."""
    with pytest.raises(TypeError, match="plain number.*Give the parameters as quantities"):
        lq.simulate(lq.LIF(3, tau=5.), lambda t: 2. * u.mA, 100. * u.ms, dt=0.1 * u.ms)


def test_repr_shows_parameters_not_the_mode_bookkeeping():
    text = repr(lq.LIF(3, tau=10.))
    assert "tau=10.0" in text and "votes" not in text and "plain" not in text
