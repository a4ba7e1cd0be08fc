"""Short-term plasticity (STP, STD): the Tsodyks-Markram recurrence, brainpy.state, errors."""

import math

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
import tolerances as tol
from test_synapses import DT, SPIKES, STEPS, raises_naming, run_steps, spike_input

STEPS_K = [k for k, _ in SPIKES]


def tsodyks_markram(U, tau_f, tau_d, facilitating=True, old_values=False):
    """Release per step (float64) of the event-driven recurrence, or of the reference's per-step scheme.

    ``old_values=False``: u and x relax exactly over each inter-spike interval (the state starts one step
    before step 0), then u+ = u + U (1 - u), release u+ x, x <- x - u+ x (STD: release x, x <- x - U x).
    ``old_values=True``: brainpy.state's scheme, where the jumps use the values stored at the previous
    step (before this step's relaxation).
    """
    uu, x, out = U, 1., np.zeros(STEPS)
    for k in range(STEPS):
        u_prev, x_prev = uu, x
        if facilitating:
            uu = uu * math.exp(-DT / tau_f)
        x = 1. - (1. - x) * math.exp(-DT / tau_d)
        if k not in STEPS_K:
            continue
        if facilitating:
            uu = uu + U * (1. - (u_prev if old_values else uu))
        released = (uu if facilitating else 1.) * x
        x = x - (uu if facilitating else U) * (x_prev if old_values else x)
        out[k] = released
    return out


CASES = {
    "STP": (dict(U=0.2, tau_f=20. * u.ms, tau_d=5. * u.ms), (0.2, 20., 5., True)),
    "STD": (dict(tau=5. * u.ms, U=0.4), (0.4, None, 5., False)),
}


def release(mod, name, spikes=None):
    kw, _ = CASES[name]
    spikes = spike_input(weighted=False) if spikes is None else spikes
    return np.asarray(run_steps(getattr(mod, name)(1, **kw), spikes))[:, 0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_release_matches_tsodyks_markram(name):
    ours, exact = release(lq, name), tsodyks_markram(*CASES[name][1])
    assert np.abs(ours - exact).max() <= tol.STP_CLOSED_FORM_ATOL
    assert np.all(ours[np.setdiff1d(np.arange(STEPS), STEPS_K)] == 0.)
    assert ours[STEPS_K[0]] > 0 and ours[43] < ours[40]  # depression dominates a close pair here


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_differs_only_by_its_previous_step_values(name):
    """brainpy.state = the same recurrence with the previous step's values in the jumps (to float32
    rounding); ours and it then differ by at most one step's relaxation per spike."""
    brainpy = pytest.importorskip("brainpy")
    ref = release(brainpy.state, name)
    U, tau_f, tau_d, fac = CASES[name][1]
    assert np.abs(ref - tsodyks_markram(U, tau_f, tau_d, fac, old_values=True)).max() <= tol.STP_CLOSED_FORM_ATOL
    one_step = (1 - math.exp(-DT / tau_d)) + (U * (1 - math.exp(-DT / tau_f)) if fac else 0.)
    diff = np.abs(release(lq, name) - ref).max()
    assert 0. < diff <= len(SPIKES) * one_step


def test_float_and_bool_spikes_agree():
    bool_spikes = spike_input(weighted=False)
    np.testing.assert_array_equal(release(lq, "STP", bool_spikes), release(lq, "STP", bool_spikes.astype(float)))


def test_initial_states_and_reset():
    stp = lq.STP(3, U=0.3)
    stp.init_state(batch_size=2)
    assert stp.u.value.shape == (2, 3) and np.all(np.asarray(stp.u.value) == np.float32(0.3))
    assert np.all(np.asarray(stp.x.value) == 1.)
    stp.x.value = stp.x.value * 0.5
    stp.reset_state(batch_size=2)
    assert np.all(np.asarray(stp.x.value) == 1.)


@pytest.mark.parametrize("make, exc, words", [
    (lambda: lq.STP(2, U=0.), lq.ParameterError, ["STP", "'U'", "(0, 1]"]),
    (lambda: lq.STP(2, U=1.5), lq.ParameterError, ["STP", "'U'"]),
    (lambda: lq.STP(2, U=0.2 * u.mV), TypeError, ["STP", "'U'", "dimensionless"]),
    (lambda: lq.STP(2, tau_f=-1. * u.ms), lq.ParameterError, ["STP", "tau_f", "> 0"]),
    (lambda: lq.STP(2, tau_d=200.), TypeError, ["STP", "tau_d", "time"]),
    (lambda: lq.STD(2, tau=0. * u.ms), lq.ParameterError, ["STD", "tau"]),
    (lambda: lq.STD(2, U=-0.1), lq.ParameterError, ["STD", "'U'"]),
])
def test_bad_parameters(make, exc, words):
    raises_naming(make, exc, words)
