"""Self-tests of the independent references (pure NumPy/SciPy, no jax, no lapicque).

The event-driven solve_ivp simulators are checked against closed forms and published
values from shared/reference/ORACLES.md before they are used as oracles for the models.
"""

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

try:  # tests collected as a package
    from . import reference_solvers as ref
    from . import tolerances as tol
except ImportError:  # rootdir-relative imports (no tests/__init__.py)
    import reference_solvers as ref
    import tolerances as tol

# ORACLES.md, "LIF with refractory period": (parameters, exact period ms, rate Hz,
# digits of the printed period). Seed units: mV, ms, ohm, mA.
LIF_TABLE = [
    (dict(tau=10.0, R=4e7, I=1000e-9, V_th=15.0, V_reset=0.0, V_rest=0.0, tau_ref=2.0),
     6.700036292457356, 149.2529),
    (dict(tau=10.0, R=4e7, I=500e-9, V_th=15.0, V_reset=0.0, V_rest=0.0, tau_ref=2.0),
     15.86294, 63.0400),
    (dict(tau=8.0, R=1e7, I=2.5e-6, V_th=-50.0, V_reset=-65.0, V_rest=-70.0, tau_ref=2.0),
     13.09035, 76.392),
]

QUAIF = dict(tau=10.0, R=1.0, V_rest=-65.0, V_c=-50.0, c=0.07, V_reset=-68.0, V_th=-30.0)


def _rel(a, b):
    return abs(a - b) / abs(b)


# --- closed forms -----------------------------------------------------------------------

@pytest.mark.parametrize("params, period, rate", LIF_TABLE)
def test_lif_period_closed_form_matches_oracle_table(params, period, rate):
    T = ref.lif_period(**params)
    assert _rel(T, period) < tol.ORACLE_TABLE_7SIG_RTOL
    # rate in Hz (period in ms); the table prints 6-7 significant figures
    assert _rel(1e3 * ref.lif_rate(**params), rate) < 1e-5


def test_lif_first_row_is_exact():
    p = LIF_TABLE[0][0]
    assert _rel(ref.lif_period(**p), 6.700036292457356) < tol.CLOSED_FORM_RTOL


def test_lif_subthreshold_closed_form():
    V5 = ref.lif_subthreshold(5.0, V0=0.0, tau=10.0, R=4e7, I=1000e-9, V_rest=0.0)
    assert _rel(float(V5), 15.738773611494663) < tol.CLOSED_FORM_RTOL
    T = ref.lif_time_to_threshold(0.0, tau=10.0, R=4e7, I=1000e-9, V_th=15.0, V_rest=0.0)
    assert _rel(T, 4.700036292457356) < tol.CLOSED_FORM_RTOL


def test_lif_below_rheobase_never_fires():
    assert math.isinf(ref.lif_period(10.0, 4e7, 375e-9, 15.0, 0.0, 0.0, 2.0))
    assert ref.lif_rate(10.0, 4e7, 375e-9, 15.0, 0.0, 0.0, 2.0) == 0.0


def test_gif_panel_a_period_is_20_ln3():
    assert _rel(ref.gif_panel_a_period(), 20.0 * math.log(3.0)) < tol.CLOSED_FORM_RTOL
    assert abs(ref.GIF_PANEL_A_PERIOD_MS - 21.97225) < 5e-6


def test_quaif_arctan_matches_quadrature():
    I = 20.0
    T = ref.quaif_time_to_threshold(QUAIF["tau"], QUAIF["c"], QUAIF["R"], I, QUAIF["V_rest"],
                                    QUAIF["V_c"], QUAIF["V_reset"], QUAIF["V_th"])
    f = lambda v: (QUAIF["c"] * (v - QUAIF["V_rest"]) * (v - QUAIF["V_c"]) + QUAIF["R"] * I) / QUAIF["tau"]
    Tq = ref.passage_time_quadrature(f, QUAIF["V_reset"], QUAIF["V_th"])
    assert abs(T - Tq) < tol.QUADRATURE_VS_SOLVER_ATOL_MS
    # the tan trajectory starts at V_reset and reaches V_th at T
    V = ref.quaif_trajectory([0.0, T], QUAIF["V_reset"], QUAIF["tau"], QUAIF["c"], QUAIF["R"],
                             I, QUAIF["V_rest"], QUAIF["V_c"])
    assert abs(V[0] - QUAIF["V_reset"]) < 1e-12 and abs(V[1] - QUAIF["V_th"]) < 1e-9


def test_quaif_rheobase():
    I_rh = ref.quaif_rheobase(QUAIF["c"], QUAIF["R"], QUAIF["V_rest"], QUAIF["V_c"])
    assert abs(I_rh - 0.07 * 7.5 ** 2) < 1e-12
    assert math.isinf(ref.quaif_time_to_threshold(
        QUAIF["tau"], QUAIF["c"], QUAIF["R"], 0.99 * I_rh, QUAIF["V_rest"], QUAIF["V_c"],
        QUAIF["V_reset"], QUAIF["V_th"]))


def test_adex_rheobase_is_maximum_of_steady_state_curve():
    for name in ("tonic", "adaptation", "initial_burst"):
        p = ref.naud_seed_params(name)
        I_sn = ref.adex_rheobase(p["R"], p["a"], p["V_T"], p["V_rest"], p["delta_T"])
        res = minimize_scalar(
            lambda v: -ref.adex_steady_state_current(v, p["R"], p["a"], p["V_T"],
                                                     p["V_rest"], p["delta_T"]),
            bounds=(p["V_rest"], p["V_T"] + 5 * p["delta_T"]), method="bounded",
            options=dict(xatol=1e-10))
        assert _rel(-res.fun, I_sn) < tol.RHEOBASE_RTOL
        # conductance form in pA agrees with the seed form in mA
        C, gL, EL, VT, dT, a, *_ = ref.NAUD_2008[name]
        assert _rel(ref.adex_rheobase_conductance(gL, a, VT, EL, dT) * 1e-9, I_sn) < 1e-12
    # a = 0 reduces to g_L (V_T - E_L - delta_T)
    assert _rel(ref.adex_rheobase(1e8, 0.0, -50.0, -70.0, 2.0), 1e-8 * 18.0) < 1e-14


def test_naud_parameter_conversion():
    p = ref.naud_seed_params("tonic")
    assert p["tau"] == 20.0 and p["R"] == 1e8
    assert _rel(p["a"], 2e-9) < 1e-15 and p["b"] == 0.0 and _rel(p["I"], 5e-7) < 1e-15
    # R * I is the drive in mV
    assert abs(p["R"] * p["I"] - 50.0) < 1e-9


def test_grid_bookkeeping():
    assert ref.grid_steps_to_cross(4.700036292457356, 0.1) == 48
    assert ref.refractory_held_steps(1.925, 0.1) == 19
    assert ref.refractory_held_steps(0.05, 0.1) == 0
    with pytest.raises(ValueError):
        ref.refractory_held_steps(2.0, 0.1)
    assert ref.refractory_held_steps(2.0, 0.1, exact_arithmetic=True) == 19
    assert ref.lifref_grid_isi_steps(4.700036292457356, 1.925, 0.1) == 67


# --- event-driven simulators against closed forms ---------------------------------------

@pytest.mark.parametrize("params, period, rate", LIF_TABLE)
def test_solver_lif_period_with_refractoriness(params, period, rate):
    p = dict(params)
    I = p.pop("I")
    T_exact = ref.lif_period(I=I, **p)
    res = ref.simulate_lif(I, 6 * T_exact, V0=p["V_reset"], **p)
    isi = np.diff(res.spike_times)
    assert len(isi) >= 4
    np.testing.assert_allclose(isi, T_exact, rtol=0, atol=tol.SOLVER_TIME_ATOL_MS)
    # the first spike comes after the free passage only (no refractoriness before it)
    assert abs(res.spike_times[0] - (T_exact - p["tau_ref"])) < tol.SOLVER_TIME_ATOL_MS


def test_solver_lif_subthreshold_value():
    res = ref.simulate_lif(1000e-9, 10.0, tau=10.0, R=4e7, V_rest=0.0, V_reset=0.0,
                           V_th=100.0, sample_times=np.linspace(0, 10, 101))
    assert res.spike_times.size == 0
    assert abs(res.states["V"][50] - 15.738773611494663) < tol.SOLVER_STATE_ATOL_MV
    exact = ref.lif_subthreshold(res.t, 0.0, 10.0, 4e7, 1000e-9, 0.0)
    np.testing.assert_allclose(res.states["V"], exact, rtol=0, atol=tol.SOLVER_STATE_ATOL_MV)


def test_solver_lif_crossing_time_nest_value():
    res = ref.simulate_lif(1000e-9, 6.0, tau=10.0, R=4e7, V_rest=0.0, V_reset=0.0, V_th=15.0,
                           tau_ref=2.0)
    assert abs(res.spike_times[0] - 4.700036292457356) < tol.SOLVER_TIME_ATOL_MS


def test_solver_refractory_holds_state():
    res = ref.simulate_lif(1000e-9, 20.0, tau=10.0, R=4e7, V_rest=0.0, V_reset=0.0, V_th=15.0,
                           tau_ref=2.0, sample_times=np.linspace(0, 20, 2001))
    t0 = res.spike_times[0]
    held = (res.t > t0) & (res.t <= t0 + 2.0)
    assert held.sum() > 150
    assert np.all(res.states["V"][held] == 0.0)
    # at the spike time the sample is the pre-reset value (on the threshold)
    k = np.argmin(np.abs(res.t - 4.7))
    assert res.states["V"][k] < 15.0 + 1e-9


def test_solver_grid_mode_rounds_spikes_up_to_the_grid():
    dt = 0.1
    T = ref.lif_period(10.0, 4e7, 1000e-9, 15.0, 0.0, 0.0)
    ts = np.arange(1, 301) * dt
    res = ref.simulate_lif(1000e-9, 30.0, tau=10.0, R=4e7, V_rest=0.0, V_reset=0.0,
                           V_th=15.0, grid_dt=dt, sample_times=ts)
    m = ref.grid_steps_to_cross(T, dt)
    expected = np.arange(1, res.spike_times.size + 1) * m * dt
    np.testing.assert_allclose(res.spike_times, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.crossing_times - (res.spike_times - m * dt), T,
                               atol=tol.SOLVER_TIME_ATOL_MS)
    # at a grid spike the sample is above threshold (the ODE ran past the crossing)
    for s in res.spike_times:
        k = int(round(s / dt)) - 1
        assert res.states["V"][k] >= 15.0
        exact = ref.lif_subthreshold(m * dt, 0.0, 10.0, 4e7, 1000e-9, 0.0)
        assert abs(res.states["V"][k] - exact) < tol.SOLVER_STATE_ATOL_MV


def test_solver_quaif_period_and_trajectory():
    I = 20.0
    T = ref.quaif_time_to_threshold(QUAIF["tau"], QUAIF["c"], QUAIF["R"], I, QUAIF["V_rest"],
                                    QUAIF["V_c"], QUAIF["V_reset"], QUAIF["V_th"])
    ts = np.linspace(0, T * 0.999, 200)
    res = ref.simulate_quaif(I, 5 * T, V0=QUAIF["V_reset"], sample_times=ts, **QUAIF)
    assert res.spike_times.size == 5
    np.testing.assert_allclose(np.diff(res.spike_times), T, atol=tol.SOLVER_TIME_ATOL_MS)
    assert abs(res.spike_times[0] - T) < tol.SOLVER_TIME_ATOL_MS
    exact = ref.quaif_trajectory(ts, QUAIF["V_reset"], QUAIF["tau"], QUAIF["c"], QUAIF["R"],
                                 I, QUAIF["V_rest"], QUAIF["V_c"])
    np.testing.assert_allclose(res.states["V"], exact, rtol=0, atol=tol.SOLVER_STATE_ATOL_MV)


def test_solver_expif_period_matches_quadrature():
    # seed ExpIF defaults, strong input, refractory period
    p = dict(tau=10.0, R=1.0, V_rest=-65.0, V_reset=-68.0, V_th=-30.0, V_T=-59.9, delta_T=3.48)
    I, tau_ref = 10.0, 1.7
    f = lambda v: (-(v - p["V_rest"]) + p["delta_T"] * math.exp((v - p["V_T"]) / p["delta_T"])
                   + p["R"] * I) / p["tau"]
    T = ref.passage_time_quadrature(f, p["V_reset"], p["V_th"]) + tau_ref
    res = ref.simulate_expif(I, 5.5 * T, V0=p["V_reset"], tau_ref=tau_ref, **p)
    assert res.spike_times.size == 5
    np.testing.assert_allclose(np.diff(res.spike_times), T, atol=tol.QUADRATURE_VS_SOLVER_ATOL_MS)


def test_solver_adquaif_without_adaptation_is_quaif():
    I = 20.0
    T = ref.quaif_time_to_threshold(QUAIF["tau"], QUAIF["c"], QUAIF["R"], I, QUAIF["V_rest"],
                                    QUAIF["V_c"], QUAIF["V_reset"], QUAIF["V_th"])
    res = ref.simulate_adquaif(I, 3.5 * T, V0=QUAIF["V_reset"], a=0.0, b=0.0, tau_w=10.0,
                               **QUAIF)
    np.testing.assert_allclose(res.spike_times, T * np.arange(1, 4),
                               atol=tol.SOLVER_TIME_ATOL_MS)


def test_solver_gif_panel_a_period():
    p, cur, t_end = ref.gif_panel_params("A")
    res = ref.simulate_gif(cur, t_end, **p)
    n = int(t_end // ref.GIF_PANEL_A_PERIOD_MS)
    assert res.spike_times.size == n
    np.testing.assert_allclose(res.spike_times, ref.GIF_PANEL_A_PERIOD_MS * np.arange(1, n + 1),
                               atol=tol.SOLVER_TIME_ATOL_MS * n)


def test_solver_gif_panel_b_first_spike():
    p, cur, t_end = ref.gif_panel_params("B")
    res = ref.simulate_gif(cur, t_end, rtol=1e-12, atol=1e-13, **p)
    assert res.spike_times.size >= 1
    assert abs(res.spike_times[0] - 20.0 * math.log(1e6 + 1)) < tol.GIF_PANEL_B_ATOL_MS


def test_solver_gif_internal_currents_follow_reset_rules():
    # panel M: R1 = 0, R2 = 1, so I1 = A1 exp(-k1 (t - t_last)) and
    # I2 = sum_k A2 exp(-k2 (t - t_k)) after the spikes t_k
    p, cur, _ = ref.gif_panel_params("M")
    ts = np.linspace(0.0, 100.0, 1001)
    res = ref.simulate_gif(cur, 100.0, sample_times=ts, **p)
    sp = res.spike_times
    assert sp.size >= 5
    after = ts[:, None] > sp[None, :]
    dtk = np.where(after, ts[:, None] - sp[None, :], np.inf)
    I2 = (p["A2"] * np.exp(-p["k2"] * dtk)).sum(axis=1)
    last = np.where(after.any(axis=1), dtk.min(axis=1), np.inf)
    I1 = p["A1"] * np.exp(-p["k1"] * last)
    np.testing.assert_allclose(res.states["I1"], I1, atol=1e-8)
    np.testing.assert_allclose(res.states["I2"], I2, atol=1e-8)
    # V_th after each reset is at least V_th_reset
    for s in sp:
        k = np.searchsorted(ts, s, side="right")
        if k < ts.size:
            assert res.states["V_th"][k] >= p["V_th_reset"] - 1e-6


def test_solver_alif_adaptation_is_sum_of_kernels():
    pars = dict(tau=10.0, R=1.0, V_rest=0.0, V_reset=0.0, V_th=10.0, beta=2.0, tau_a=100.0)
    ts = np.linspace(0.0, 150.0, 1501)
    res = ref.simulate_alif(15.0, 150.0, sample_times=ts, **pars)
    sp = res.spike_times
    assert sp.size >= 5
    dtk = ts[:, None] - sp[None, :]
    a = np.where(dtk > 0, np.exp(-np.where(dtk > 0, dtk, 0.0) / pars["tau_a"]), 0.0).sum(axis=1)
    np.testing.assert_allclose(res.states["a"], a, atol=tol.SOLVER_ADAPT_ATOL)
    # each spike happens on the moving threshold V_th + beta a(t-)
    a_before = np.array([np.exp(-(s - sp[sp < s]) / pars["tau_a"]).sum() for s in sp])
    V_at = ref.simulate_alif(15.0, 150.0, sample_times=sp, **pars).states["V"]
    np.testing.assert_allclose(V_at, pars["V_th"] + pars["beta"] * a_before,
                               atol=tol.SOLVER_STATE_ATOL_MV)


def test_solver_alif_without_adaptation_is_lif():
    T = ref.lif_period(10.0, 1.0, 15.0, 10.0, 0.0, 0.0)
    res = ref.simulate_alif(15.0, 5.5 * T, tau=10.0, R=1.0, V_rest=0.0, V_reset=0.0,
                            V_th=10.0, beta=0.0)
    np.testing.assert_allclose(np.diff(res.spike_times), T, atol=tol.SOLVER_TIME_ATOL_MS)


def test_solver_adex_rheobase_bifurcation():
    p = ref.naud_seed_params("tonic")
    p.pop("I")
    I_sn = ref.adex_rheobase(p["R"], p["a"], p["V_T"], p["V_rest"], p["delta_T"])
    below = ref.simulate_adex(0.99 * I_sn, 2000.0, **p)
    above = ref.simulate_adex(1.01 * I_sn, 2000.0, **p)
    assert np.sum(below.spike_times > 1000.0) == 0
    assert np.sum(above.spike_times > 1000.0) >= 4


def test_solver_adex_refractory_holds_v_and_w():
    p = ref.naud_seed_params("adaptation")
    I = p.pop("I")
    ts = np.linspace(0.0, 40.0, 4001)
    res = ref.simulate_adex(I, 40.0, tau_ref=2.0, sample_times=ts, **p)
    t0 = res.spike_times[0]
    held = (ts > t0) & (ts <= t0 + 2.0)
    assert held.sum() > 150
    assert np.all(res.states["V"][held] == p["V_reset"])
    w_held = res.states["w"][held]
    assert np.all(w_held == w_held[0])
    # the jump is b on top of the pre-spike value
    k = np.searchsorted(ts, t0) - 1
    assert abs(w_held[0] - res.states["w"][k] - p["b"]) < 1e-3 * p["b"]


def test_piecewise_current_segments():
    segs = ref.current_segments([(1.0, 10.0), (0.0, 5.0), (2.0, 5.0)], t_end=25.0)
    assert segs == [(0.0, 10.0, 1.0), (10.0, 15.0, 0.0), (15.0, 20.0, 2.0), (20.0, 25.0, 0.0)]
    assert ref.current_segments(3.0, 7.0) == [(0.0, 7.0, 3.0)]
    # piecewise LIF: charge, then free decay
    ts = np.array([10.0, 15.0])
    res = ref.simulate_lif([(1.0, 10.0), (0.0, 5.0)], None, tau=10.0, R=10.0, V_rest=0.0,
                           V_reset=0.0, V_th=100.0, sample_times=ts)
    V10 = 10.0 * (1 - math.exp(-1.0))
    assert abs(res.states["V"][0] - V10) < tol.SOLVER_STATE_ATOL_MV
    assert abs(res.states["V"][1] - V10 * math.exp(-0.5)) < tol.SOLVER_STATE_ATOL_MV
