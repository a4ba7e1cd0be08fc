"""Synapse kinetics (Expon, DualExpon, Alpha, AMPA, GABAa, BioNMDA): closed forms, brainpy.state, errors."""

import math

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
import tolerances as tol
from asserts import raises_naming
from lapicque._network.synapses import AlignPost

DT = 0.1  # ms
STEPS = 600
#: a spike train with isolated spikes, a close pair, adjacent steps and a late spike: (step, weight in nS)
SPIKES = ((5, 1.0), (40, 0.5), (43, 2.0), (120, 1.0), (121, 1.0), (300, 0.7))


def spike_input(n=1, weighted=True):
    """(STEPS, n) array of this step's input (weights in nS, or booleans)."""
    x = np.zeros((STEPS, n))
    for k, w in SPIKES:
        x[k] += w
    return x * u.nS if weighted else x > 0


def run_steps(syn, xs, call=lambda s, x: s.update(x)):
    """Initialize ``syn`` and run ``call(syn, x_i)`` in a compiled loop with t = i dt; stack the outputs."""
    def step(i, x):
        with brainstate.environ.context(t=i * DT * u.ms):
            return call(syn, x)

    with brainstate.environ.context(dt=DT * u.ms):
        syn.init_state()
        return brainstate.transform.for_loop(step, jnp.arange(len(xs)), xs)


def kernel_sum(kernel):
    """float64 superposition of ``w kernel(t - t_k)`` over SPIKES on the step grid, shape (STEPS, 1)."""
    t = np.arange(STEPS)[:, None] * DT
    out = np.zeros((STEPS, 1))
    for k, w in SPIKES:
        s = t - k * DT
        out += np.where(s >= 0, w * kernel(np.maximum(s, 0.)), 0.)
    return out


def dual_norm(td, tr):
    return td / (td - tr) * (tr / td) ** (tr / (tr - td))


LINEAR = {
    "Expon": (dict(tau=5. * u.ms), lambda t: np.exp(-t / 5.)),
    "DualExpon": (dict(tau_decay=10. * u.ms, tau_rise=1. * u.ms),
                  lambda t: dual_norm(10., 1.) * (np.exp(-t / 10.) - np.exp(-t))),
    "Alpha": (dict(tau=2. * u.ms), lambda t: t / 2. * np.exp(-t / 2.)),
}


def trace_nS(syn, xs=None):
    return np.asarray(run_steps(syn, spike_input() if xs is None else xs).to_decimal(u.nS))


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_linear_synapse_matches_closed_form(name):
    kw, kernel = LINEAR[name]
    ours, exact = trace_nS(getattr(lq, name)(1, **kw)), kernel_sum(kernel)
    assert np.abs(ours - exact).max() <= tol.SYN_CLOSED_FORM_RTOL * exact.max()


def test_dual_expon_peak_is_w_at_t_star():
    td, tr, w = 10., 1., 3.
    syn = lq.DualExpon(1, tau_decay=td * u.ms, tau_rise=tr * u.ms)
    xs = np.zeros((200, 1)) * u.nS
    xs[0] = w * u.nS
    g = trace_nS(syn, xs)[:, 0]
    t_star = td * tr * math.log(td / tr) / (td - tr)
    assert np.argmax(g) == round(t_star / DT)
    # the grid misses t* by <= dt/2: the peak value is then lower by O((dt/2)^2 g''/2) < 1e-3 w
    assert w * (1 - 1e-3) <= g.max() <= w * (1 + tol.SYN_CLOSED_FORM_RTOL)


def test_alpha_peak_is_w_over_e_at_tau():
    g = trace_nS(lq.Alpha(1, tau=2. * u.ms))[:, 0]
    assert g[5 + 20] == pytest.approx(1. / math.e, rel=tol.SYN_CLOSED_FORM_RTOL)
    assert np.argmax(g[:40]) == 5 + 20


def test_not_normalized_dual_expon_is_the_raw_difference():
    kernel = lambda t: 2. * (np.exp(-t / 10.) - np.exp(-t / 1.))  # noqa: E731
    ours = trace_nS(lq.DualExpon(1, tau_decay=10. * u.ms, tau_rise=1. * u.ms, amplitude=2., normalize=False))
    exact = kernel_sum(kernel)
    assert np.abs(ours - exact).max() <= tol.SYN_CLOSED_FORM_RTOL * exact.max()


def test_expon_current_input_is_integrated_exactly():
    """tau dg/dt = -g + I with I held: g(t) = I (1 - exp(-t/tau))."""
    syn = lq.Expon(1, tau=5. * u.ms, g_initializer=braintools.init.Constant(0. * u.nS))
    syn.add_current_input("drive", lambda: 2. * u.nS)
    g = trace_nS(syn, np.zeros((100, 1)) * u.nS)[:, 0]
    t = (np.arange(100) + 1) * DT
    np.testing.assert_allclose(g, 2. * (1 - np.exp(-t / 5.)), rtol=tol.SYN_CLOSED_FORM_RTOL, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# brainpy.state, same interpreter
# ---------------------------------------------------------------------------------------------
def reference():
    return pytest.importorskip("brainpy").state


@pytest.mark.parametrize("name", ["Expon", "DualExpon"])
def test_linear_synapse_matches_reference(name):
    kw, _ = LINEAR[name]
    ours, ref = trace_nS(getattr(lq, name)(1, **kw)), trace_nS(getattr(reference(), name)(1, **kw))
    assert np.abs(ours - ref).max() <= tol.SYN_REFERENCE_RTOL * np.abs(ref).max()


def test_reference_alpha_deviates_by_half_dt_over_tau():
    """The reference's exponential Euler on the coupled pair lags the exact kernel by ~dt/(2 tau) of its peak."""
    kw, kernel = LINEAR["Alpha"]
    ours, ref = trace_nS(lq.Alpha(1, **kw)), trace_nS(reference().Alpha(1, **kw))
    predicted = DT / (2 * 2.)
    lo, hi = tol.ALPHA_REFERENCE_BAND
    assert lo * predicted <= np.abs(ours - ref).max() / ours.max() <= hi * predicted


def test_expon_current_input_matches_reference():
    def trace(mod):
        syn = mod.Expon(2, tau=5. * u.ms)
        syn.add_current_input("drive", lambda: 2. * u.nS)
        return trace_nS(syn, spike_input(2))
    ours, ref = trace(lq), trace(reference())
    assert np.abs(ours - ref).max() <= tol.SYN_REFERENCE_RTOL * np.abs(ref).max()


# ---------------------------------------------------------------------------------------------
# transmitter-pulse kinetics
# ---------------------------------------------------------------------------------------------
def pulse_closed_form(alpha, beta, T, n_pulse):
    """Open fraction at the end of every step: T on for n_pulse steps from each spike's step."""
    g, out = 0., np.zeros(STEPS)
    for k in range(STEPS):
        on = any(s <= k < s + n_pulse for s, _ in SPIKES)
        rate = alpha * T * on + beta
        g_inf = alpha * T * on / rate
        g = g_inf + (g - g_inf) * math.exp(-rate * DT)
        out[k] = g
    return out


@pytest.mark.parametrize("name, closed", [("AMPA", (0.98, 0.18, 0.5, 5)), ("GABAa", (0.53, 0.18, 1.0, 10))])
def test_receptor_kinetics_match_closed_form_and_reference(name, closed):
    spikes = spike_input(weighted=False)
    ours = np.asarray(run_steps(getattr(lq, name)(1), spikes).to_decimal(u.mS))[:, 0]
    exact = pulse_closed_form(*closed)
    assert np.abs(ours - exact).max() <= tol.SYN_CLOSED_FORM_RTOL * exact.max()
    ref = np.asarray(run_steps(getattr(reference(), name)(1), spikes).to_decimal(u.mS))[:, 0]
    assert np.abs(ours - ref).max() <= tol.SYN_REFERENCE_RTOL * ref.max()


def test_bio_nmda_matches_reference():
    spikes = spike_input(weighted=False)
    ours = np.asarray(run_steps(lq.BioNMDA(1), spikes).to_decimal(u.mS))[:, 0]
    ref = np.asarray(run_steps(reference().BioNMDA(1), spikes).to_decimal(u.mS))[:, 0]
    assert ours.max() > 0.5
    assert np.abs(ours - ref).max() <= tol.SYN_REFERENCE_RTOL * ref.max()


def test_transmitter_pulse_lasts_exactly_n_steps_late_in_a_run():
    """The pulse lasts ceil(T_dur/dt) steps even where t = i dt is rounded in float32 (t ~ 10^4 ms)."""
    syn = lq.AMPA(3, T_dur=u.math.asarray([0.3, 0.5, 0.25]) * u.ms)
    start = 99_990
    spikes = np.zeros((40, 3), bool)
    spikes[[0, 13, 27], :] = True

    def step(i, s):
        with brainstate.environ.context(t=(start + i) * DT * u.ms):
            return syn.update(s)

    with brainstate.environ.context(dt=DT * u.ms):
        syn.init_state()
        g = np.asarray(brainstate.transform.for_loop(step, jnp.arange(40), spikes).mantissa)
    rising = np.diff(np.concatenate([np.zeros((1, 3)), g]), axis=0) > 0
    assert rising.sum(axis=0).tolist() == [3 * 3, 3 * 5, 3 * 3]


# ---------------------------------------------------------------------------------------------
# API: describers, markers, states, batch
# ---------------------------------------------------------------------------------------------
def test_desc_builds_equal_instances_and_linear_synapses_are_align_post():
    d = lq.Expon.desc(10, tau=5. * u.ms)
    assert d.identifier == lq.Expon.desc(10, tau=5. * u.ms).identifier
    syn = d()
    assert isinstance(syn, lq.Expon) and isinstance(syn, lq.Synapse) and isinstance(syn, lq.Dynamics)
    assert all(issubclass(c, AlignPost) for c in (lq.Expon, lq.DualExpon, lq.Alpha))
    assert not any(issubclass(c, AlignPost) for c in (lq.AMPA, lq.GABAa, lq.BioNMDA))


@pytest.mark.parametrize("cls, states", [
    (lq.Expon, ["g"]), (lq.DualExpon, ["g_rise", "g_decay"]), (lq.Alpha, ["g", "h"]),
    (lq.AMPA, ["g", "spike_arrival_time"]), (lq.GABAa, ["g", "spike_arrival_time"]),
    (lq.BioNMDA, ["g", "x", "spike_arrival_time"]),
])
def test_states_batch_and_reset(cls, states):
    syn = cls(4)
    syn.init_state(batch_size=3)
    for name in states:
        assert getattr(syn, name).value.shape == (3, 4)
    first = getattr(syn, states[0])
    first.value = first.value + 1. * u.mS
    syn.reset_state(batch_size=3)
    assert np.all(np.asarray(first.value.to_decimal(u.mS)) == 0.)


def test_delta_inputs_and_x_add_up():
    syn = lq.Expon(2, tau=5. * u.ms)
    with brainstate.environ.context(dt=DT * u.ms):
        syn.init_state()
        syn.add_delta_input("a", 1. * u.nS)
        syn.add_delta_input("b", u.math.asarray([0., 2.]) * u.nS)
        g = syn.update(0.5 * u.nS)
        assert np.allclose(g.to_decimal(u.nS), [1.5, 3.5])
        assert syn.delta_inputs == {}  # plain values are used once


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, exc, words", [
    (lambda: lq.Expon(3, tau=-1. * u.ms), lq.ParameterError, ["Expon", "tau", "> 0"]),
    (lambda: lq.Expon(3, tau=5.), TypeError, ["Expon", "tau", "time"]),
    (lambda: lq.Expon(3, tau=5. * u.mV), TypeError, ["Expon", "tau", "dimension"]),
    (lambda: lq.Expon(3, tau=float("nan") * u.ms), lq.ParameterError, ["Expon", "tau", "finite"]),
    (lambda: lq.Expon(3, tau=u.math.ones(4) * u.ms), lq.ParameterError, ["Expon", "tau", "shape"]),
    (lambda: lq.Expon(0), lq.ParameterError, ["Expon", "in_size"]),
    (lambda: lq.Expon(3, g_initializer="zero"), TypeError, ["Expon", "g_initializer"]),
    (lambda: lq.DualExpon(3, tau_decay=2. * u.ms, tau_rise=2. * u.ms), lq.ParameterError,
     ["DualExpon", "tau_rise", "tau_decay"]),
    (lambda: lq.DualExpon(3, tau_decay=1. * u.ms, tau_rise=5. * u.ms), lq.ParameterError, ["tau_rise"]),
    (lambda: lq.DualExpon(3, normalize="yes"), TypeError, ["DualExpon", "normalize"]),
    (lambda: lq.Alpha(3, tau=0. * u.ms), lq.ParameterError, ["Alpha", "tau"]),
    (lambda: lq.AMPA(3, T_dur=-1. * u.ms), lq.ParameterError, ["AMPA", "T_dur", ">= 0"]),
    (lambda: lq.AMPA(3, alpha=0.98 / u.ms), TypeError, ["AMPA", "alpha"]),
    (lambda: lq.GABAa(3, beta=0. / u.ms), lq.ParameterError, ["GABAa", "beta"]),
    (lambda: lq.BioNMDA(3, T=1. * u.mV), TypeError, ["BioNMDA", "'T'"]),
])
def test_bad_parameters_name_class_and_parameter(make, exc, words):
    raises_naming(make, exc, words)


def test_input_with_wrong_units_is_a_clear_error():
    syn = lq.Expon(2)
    with brainstate.environ.context(dt=DT * u.ms):
        syn.init_state()
        with pytest.raises(TypeError, match=r"Expon: an input has units .* 'g' \(mS\)"):
            syn.update(1. * u.mV)


def test_receptor_needs_t(isolated_environ):
    syn = lq.AMPA(2)
    with brainstate.environ.context(dt=DT * u.ms):
        syn.init_state()
        with pytest.raises(lq.EnvironmentNotSetError, match="AMPA: the current time 't' is not set"):
            syn.update(jnp.ones(2, bool))


NETWORK_NAMES = ["Synapse", "Expon", "DualExpon", "Alpha", "AMPA", "GABAa", "BioNMDA", "STP", "STD", "SynOut",
                 "COBA", "CUBA", "MgBlock", "PoissonSpike", "PoissonEncoder", "PoissonInput", "poisson_input"]


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_signature_matches_reference(name):
    """Same parameter names, order and defaults as brainpy.state (so a script ports by its import)."""
    import inspect
    ref = getattr(reference(), name)
    ours, theirs = (inspect.signature(c).parameters.values() for c in (getattr(lq, name), ref))
    assert [(p.name, repr(p.default)) for p in ours] == [(p.name, repr(p.default)) for p in theirs]


@pytest.mark.parametrize("name", ["Expon", "DualExpon", "Alpha", "AMPA", "GABAa", "BioNMDA", "STP", "STD"])
def test_state_names_match_reference(name):
    def states(mod):
        syn = getattr(mod, name)(3)
        syn.init_state()
        return sorted(k for k, v in vars(syn).items() if isinstance(v, brainstate.State))
    assert states(lq) == states(reference())
