"""One test per kind of user mistake: the exception type, and a message that names the
parameter (or environment variable) and says what was expected.

Construction errors are ``lapicque.ParameterError`` (a ``ValueError``) for bad values and
``TypeError`` for a wrong or missing physical unit (lapicque never guesses units).
"""

import inspect

import brainstate
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
import registry

pytestmark = pytest.mark.usefixtures("isolated_environ")


def _params(name):
    """(name, Param) pairs of a model's constructor parameters declared in _PARAMS."""
    cls = lq.MODELS[name]
    ctor = set(registry.params_of(name))
    assert set(cls._PARAMS) <= ctor, "every declared parameter is a constructor argument"
    return [(p, spec) for p, spec in cls._PARAMS.items()]


ALL_PARAMS = [(n, p) for n in registry.NAMES for p, _ in _params(n)]
DIMENSIONAL = [(n, p) for n in registry.NAMES for p, spec in _params(n) if spec.unit is not None]


def _spec(name, param):
    return lq.MODELS[name]._PARAMS[param]


# what the message must say about the expected dimension, decided here independently
_DIM_WORDS = [
    (u.mV, "voltage"), (u.ms, "time"), (u.mA, "current"), (u.ohm, "resistance"),
    (u.siemens, "conductance"), (1 / u.ms, "time"), (1 / u.mV, "voltage"),
]


def _dim_word(unit):
    if unit is None:
        return "dimensionless"
    for ref, word in _DIM_WORDS:
        if u.have_same_dim(unit, ref):
            return word
    raise AssertionError(f"unexpected unit {unit}")


def _wrong_dimension(unit):
    """A value whose dimension is not ``unit``'s."""
    if unit is not None and u.have_same_dim(unit, u.mV):
        return 1.0 * u.ms
    return 1.0 * u.mV


def _assert_message(excinfo, *words):
    msg = str(excinfo.value)
    for w in words:
        assert w in msg, f"{w!r} not in message: {msg}"


# ----------------------------------------------------------------------------------------
# construction: units
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,param", ALL_PARAMS)
def test_wrong_physical_dimension(name, param):
    unit = _spec(name, param).unit
    with pytest.raises(TypeError) as ei:
        lq.MODELS[name](4, **{param: _wrong_dimension(unit)})
    _assert_message(ei, f"'{param}'", _dim_word(unit), name)


def _another_dimensional(name, param):
    """Another dimensional parameter of the model, with its default quantity (to mix with a plain ``param``)."""
    sig = inspect.signature(lq.MODELS[name].__init__).parameters
    for other, spec in _params(name):
        if other != param and spec.unit is not None and isinstance(sig[other].default, u.Quantity):
            return other, sig[other].default * 1.  # a new object: the default itself does not vote
    return None, None


@pytest.mark.parametrize("name,param", DIMENSIONAL)
def test_plain_float_mixed_with_quantities_is_refused(name, param):
    """A plain number beside quantities is a mistake (unitless mode needs every dimensional parameter plain)."""
    other, value = _another_dimensional(name, param)
    if other is None:
        pytest.skip(f"{name} has no other dimensional parameter")
    with pytest.raises(TypeError) as ei:
        lq.MODELS[name](4, **{param: 1.0, other: value})
    _assert_message(ei, param, other, "plain number", "u.")  # says how: units everywhere, or none


@pytest.mark.parametrize("name,param", DIMENSIONAL)
def test_plain_float_alone_runs_unitless_and_refuses_a_quantity_dt(name, param):
    """Plain numbers only: the neuron runs without units (as brainpy.state); a quantity dt is then named."""
    default = inspect.signature(lq.MODELS[name].__init__).parameters[param].default
    value = float(default.to_decimal(_spec(name, param).unit)) if isinstance(default, u.Quantity) else 1.0
    neuron = lq.MODELS[name](4, **{param: value})  # the default's number, in the canonical unit
    assert neuron.unitless
    brainstate.environ.set(dt=0.1 * u.ms, t=0. * u.ms)
    neuron.init_state()
    with pytest.raises(TypeError) as ei:
        neuron.update(0.)
    _assert_message(ei, "dt", "plain number")


def test_plain_array_mixed_with_a_quantity_is_refused():
    with pytest.raises(TypeError) as ei:
        lq.LIF(3, tau=np.array([5., 6., 7.]), V_th=1. * u.mV)
    _assert_message(ei, "tau", "V_th", "plain number")


# ----------------------------------------------------------------------------------------
# construction: values
# ----------------------------------------------------------------------------------------
POSITIVE = [(n, p) for n in registry.NAMES for p, spec in _params(n) if spec.constraint == "positive"]
NONNEGATIVE = [(n, p) for n in registry.NAMES for p, spec in _params(n) if spec.constraint == "nonnegative"]


def _q(value, unit):
    return value if unit is None else value * unit


def test_the_constraint_tables_cover_the_contract():
    """Time constants must be > 0 and tau_ref >= 0 in every model that has them."""
    for n in registry.NAMES:
        for p, spec in _params(n):
            if p in ("tau", "tau_a", "tau_w", "R", "delta_T", "c"):
                assert spec.constraint == "positive", (n, p)
            if p == "tau_ref":
                assert spec.constraint == "nonnegative", (n, p)
    assert ("IF", "V_th") in POSITIVE


@pytest.mark.parametrize("value", [0., -1.])
@pytest.mark.parametrize("name,param", POSITIVE)
def test_nonpositive_value_for_positive_parameter(name, param, value):
    """Non-positive time constants, R, delta_T, c, IF's V_th."""
    with pytest.raises(lq.ParameterError) as ei:
        lq.MODELS[name](4, **{param: _q(value, _spec(name, param).unit)})
    assert isinstance(ei.value, ValueError)
    _assert_message(ei, f"'{param}'", "> 0")


@pytest.mark.parametrize("name,param", NONNEGATIVE)
def test_negative_value_for_nonnegative_parameter(name, param):
    """Negative tau_ref; Gif's negative rates b, k1, k2."""
    with pytest.raises(lq.ParameterError) as ei:
        lq.MODELS[name](4, **{param: _q(-0.5, _spec(name, param).unit)})
    _assert_message(ei, f"'{param}'", ">= 0")


def test_zero_tau_ref_is_valid():
    lq.LIFRef(4, tau_ref=0. * u.ms)


WITH_RESET = [n for n in registry.NAMES if {"V_th", "V_reset"} <= set(lq.MODELS[n]._PARAMS)]


@pytest.mark.parametrize("offset", [0., -1.])
@pytest.mark.parametrize("name", WITH_RESET)
def test_threshold_not_above_reset(name, offset):
    V_th = registry.make(name).V_th
    with pytest.raises(lq.ParameterError) as ei:
        lq.MODELS[name](4, V_reset=V_th - offset * u.mV)
    _assert_message(ei, "V_th", "V_reset", "larger")


@pytest.mark.parametrize("param", ["V_th_inf", "V_th_reset"])
@pytest.mark.parametrize("name", ["Gif", "GifRef"])
def test_gif_threshold_parameters_not_above_reset(name, param):
    for value in (-70., -75.):  # V_reset default -70 mV
        with pytest.raises(lq.ParameterError) as ei:
            lq.MODELS[name](4, **{param: value * u.mV})
        _assert_message(ei, param, "V_reset")


@pytest.mark.parametrize("name", ["QuaIF", "AdQuaIF", "AdQuaIFRef"])
def test_quaif_critical_voltage_not_above_rest(name):
    for V_c in (-65., -70.):  # V_rest default -65 mV
        with pytest.raises(lq.ParameterError) as ei:
            lq.MODELS[name](4, V_c=V_c * u.mV)
        _assert_message(ei, "V_c", "V_rest")


@pytest.mark.parametrize("name", ["ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef"])
def test_expif_cutoff_too_far_above_soft_threshold(name):
    # (V_th - V_T) / delta_T = (-30 + 59.9) / 0.5 = 59.8 > 40: exp() would overflow float32
    with pytest.raises(lq.ParameterError) as ei:
        lq.MODELS[name](4, V_th=-30. * u.mV, delta_T=0.5 * u.mV)
    _assert_message(ei, "delta_T", "V_th", "V_T", "40")
    lq.MODELS[name](4, V_th=-30. * u.mV, delta_T=0.75 * u.mV)  # 39.9 <= 40 is accepted


@pytest.mark.parametrize("name", registry.NAMES)
def test_unknown_spk_reset(name):
    with pytest.raises(lq.ParameterError) as ei:
        lq.MODELS[name](4, spk_reset="medium")
    _assert_message(ei, "spk_reset", "'soft'", "'hard'", "'medium'")


@pytest.mark.parametrize("in_size", [0, -1, "a", (), (2, 0), 2.5, None])
def test_bad_in_size(in_size):
    with pytest.raises((ValueError, TypeError)) as ei:
        lq.LIF(in_size)
    _assert_message(ei, "in_size", "positive")


@pytest.mark.parametrize("in_size,param,shape", [
    (4, "tau", (3,)), ((2, 3), "V_th", (2,)), (4, "R", (4, 4)), ((2, 3), "tau", (3, 3))])
def test_parameter_shape_does_not_broadcast(in_size, param, shape):
    unit = lq.LIF._PARAMS[param].unit
    with pytest.raises(lq.ParameterError) as ei:
        lq.LIF(in_size, **{param: jnp.full(shape, 2.) * unit})
    varshape = (in_size,) if isinstance(in_size, int) else in_size
    _assert_message(ei, f"'{param}'", str(varshape))


def test_parameter_shape_that_broadcasts_is_accepted():
    model = lq.LIF((2, 3), tau=jnp.array([5., 10., 20.]) * u.ms, V_th=jnp.ones((2, 1)) * u.mV)
    with brainstate.environ.context(dt=0.1 * u.ms):
        model.init_state()
        assert model.update(1. * u.mA).shape == (2, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("param,unit", [("tau", u.ms), ("V_th", u.mV), ("R", u.ohm)])
def test_non_finite_parameter(param, unit, bad):
    with pytest.raises(lq.ParameterError) as ei:
        lq.LIF(4, **{param: bad * unit})
    _assert_message(ei, f"'{param}'", "finite")
    with pytest.raises(lq.ParameterError):  # also one bad entry in an array
        lq.LIF(3, **{param: jnp.array([1., bad, 2.]) * unit})


@pytest.mark.parametrize("batch_size", [0, -2, 2.5, "3"])
def test_bad_batch_size(batch_size):
    model = lq.LIF(4)
    with pytest.raises(lq.ParameterError) as ei:
        model.init_state(batch_size)
    _assert_message(ei, "batch_size")


# ----------------------------------------------------------------------------------------
# run time
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", registry.NAMES)
def test_update_before_init_state(name):
    model = registry.make(name)
    with brainstate.environ.context(dt=0.1 * u.ms, t=0. * u.ms):
        with pytest.raises(lq.StateNotInitializedError) as ei:
            model.update(1. * u.mA)
    _assert_message(ei, "init_state")
    with pytest.raises(lq.StateNotInitializedError):
        model.get_spike()


@pytest.mark.parametrize("name", ["LIF", "LIFRef", "AdExIF", "Gif"])
def test_missing_dt(name):
    model = registry.make(name)
    model.init_state()
    with pytest.raises(KeyError):  # brainstate's own exception type still catches it
        brainstate.environ.get_dt()
    with brainstate.environ.context(t=0. * u.ms):
        with pytest.raises(lq.EnvironmentNotSetError) as ei:
            model.update(1. * u.mA)
    assert isinstance(ei.value, KeyError)
    _assert_message(ei, "'dt'", "brainstate.environ")


@pytest.mark.parametrize("name", registry.REF_NAMES)
def test_ref_model_without_t(name):
    model = registry.make(name)
    with brainstate.environ.context(dt=0.1 * u.ms):
        model.init_state()
        with pytest.raises(lq.EnvironmentNotSetError) as ei:
            model.update(1. * u.mA)
    assert isinstance(ei.value, KeyError)
    _assert_message(ei, "'t'", "brainstate.environ")


def test_non_ref_model_does_not_need_t():
    model = lq.LIF(4)
    with brainstate.environ.context(dt=0.1 * u.ms):
        model.init_state()
        model.update(1. * u.mA)


@pytest.mark.parametrize("dt", [0.1, 0.1 * u.mV])
def test_dt_without_time_unit(dt):
    model = lq.LIF(4)
    model.init_state()
    with brainstate.environ.context(dt=dt):
        with pytest.raises(TypeError) as ei:
            model.update(1. * u.mA)
    _assert_message(ei, "'dt'", "time")


def test_t_without_time_unit():
    model = lq.LIFRef(4)
    model.init_state()
    with brainstate.environ.context(dt=0.1 * u.ms, t=0.5):
        with pytest.raises(TypeError) as ei:
            model.update(1. * u.mA)
    _assert_message(ei, "'t'", "time")


@pytest.mark.parametrize("x", [1.0, jnp.ones(4), 1.0 * u.mV, jnp.ones(4) * u.siemens])
@pytest.mark.parametrize("name", ["LIF", "ExpIFRef", "Gif"])
def test_input_current_with_wrong_unit(name, x):
    model = registry.make(name)
    with brainstate.environ.context(dt=0.1 * u.ms, t=0. * u.ms):
        model.init_state()
        with pytest.raises(TypeError) as ei:
            model.update(x)
    _assert_message(ei, "input current", "current")


@pytest.mark.parametrize("in_size,batch,shape", [(4, None, (3,)), (4, 2, (3, 4)), ((2, 3), None, (2,))])
def test_input_current_shape_does_not_broadcast(in_size, batch, shape):
    model = lq.LIF(in_size)
    with brainstate.environ.context(dt=0.1 * u.ms):
        model.init_state(batch)
        with pytest.raises(ValueError) as ei:
            model.update(jnp.ones(shape) * u.mA)
    _assert_message(ei, "shape", str(shape))


def test_v_th_below_the_default_v_reset_says_the_fix():
    """brainpy.state's docs often set V_th = -50 mV and V_rest alone; V_reset stays 0 mV: the error says what to pass."""
    with pytest.raises(lq.ParameterError) as e:
        lq.LIF(3, V_rest=-65. * u.mV, V_th=-50. * u.mV)
    msg = str(e.value)
    assert "V_th must be larger than V_reset" in msg and "pass V_reset=" in msg
    assert "V_reset=V_rest=-65" in msg and "defaults to 0.0 mV" in msg
