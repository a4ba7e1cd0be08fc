"""lapicque models against independent references (closed forms, published values, and
event-driven solve_ivp runs of the same ODEs; see tests/reference_solvers.py).

Time-grid convention (the brainpy.state contract): update call ``i`` runs with
``t = i dt`` and advances the state from ``i dt`` to ``(i+1) dt``, so the V stored after
``k`` calls is V at ``k dt``.  A spike is reported by the first call whose post-update
V reaches the threshold (V-time = first grid point at or after the true crossing); the
*next* call applies the reset, so the reset also happens on that grid point.  For the
Ref models the spiking call sets ``last_spike_time = i dt`` and the calls
``i+1 .. i+K`` with ``K = ceil(tau_ref/dt) - 1`` (``t - t_last < tau_ref``) hold the
post-reset state.

All parameters are given in the coherent unit system mV, ms, mA, ohm, siemens.
"""

import math

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq

try:  # tests collected as a package
    from . import reference_solvers as ref
    from . import tolerances as tol
except ImportError:  # rootdir-relative imports (no tests/__init__.py)
    import reference_solvers as ref
    import tolerances as tol


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------

def simulate(model, dt, n, x, record=("V",), varying=False):
    """Run ``n`` update calls at step ``dt`` (ms) with input ``x`` (mA Quantity).

    ``varying=True``: ``x`` has a leading time axis of length ``n``.  Returns the boolean
    spike array (n, ...) and a dict of recorded states (Quantities, n, ...).
    """
    with brainstate.environ.context(dt=dt * u.ms):
        model.init_state()

        def step(i, xi):
            with brainstate.environ.context(t=i * dt * u.ms):
                spk = model.update(xi)
                return spk, {k: getattr(model, k).value for k in record}

        if varying:
            spk, rec = brainstate.transform.for_loop(step, jnp.arange(n), x)
        else:
            spk, rec = brainstate.transform.for_loop(lambda i: step(i, x), jnp.arange(n))
    return np.asarray(spk) > 0.5, rec


def mv(q):
    return np.asarray(u.Quantity(q).to_decimal(u.mV), dtype=float)


def ma(q):
    return np.asarray(u.Quantity(q).to_decimal(u.mA), dtype=float)


def spike_steps(spk, j=None):
    s = spk if j is None else spk[:, j]
    return np.nonzero(np.asarray(s).reshape(s.shape[0], -1).any(axis=1))[0]


def piecewise_array(current, dt, n):
    """Per-step input array for a constant or list of (amplitude, duration ms)."""
    if np.ndim(current) == 0:
        return np.full(n, float(current))
    out = np.concatenate([np.full(int(round(d / dt)), a, dtype=float) for a, d in current])
    if out.size < n:
        out = np.concatenate([out, np.zeros(n - out.size)])
    return out[:n]


def steps_since_reset(spk_steps, n):
    """For each call k, the number of steps integrated since the last reset (V0 at t=0)."""
    last = np.full(n, -1)
    last[spk_steps] = spk_steps
    last = np.maximum.accumulate(last)
    prev = np.concatenate([[-1], last[:-1]])
    return np.arange(n) - prev


def away_from_spikes(n, steps_a, steps_b, margin):
    """Mask of calls not between (or within ``margin`` of) paired spikes of two trains."""
    near = np.zeros(n, dtype=bool)
    for a, b in zip(steps_a, steps_b):
        near[max(0, min(a, b) - margin):max(a, b) + margin + 1] = True
    return ~near


# --------------------------------------------------------------------------------------
# LIF: exact propagator
# --------------------------------------------------------------------------------------

def test_lif_subthreshold_trajectory_is_exact():
    """NEST precise-spike values: E_L = 0, tau = 10 ms, R = 40 MOhm, I = 1000 pA."""
    dt, n = 0.1, 100
    # neuron 0: threshold out of reach; neuron 1: V_th = 15 mV
    model = lq.LIF(2, R=4e7 * u.ohm, tau=10. * u.ms, V_th=np.array([1000., 15.]) * u.mV,
                   V_reset=0. * u.mV, V_rest=0. * u.mV, spk_reset='hard')
    spk, rec = simulate(model, dt, n, 1000e-9 * u.mA)
    V = mv(rec["V"])
    t = np.arange(1, n + 1) * dt
    exact = ref.lif_subthreshold(t, 0.0, 10.0, 4e7, 1000e-9, 0.0)
    assert not spk[:, 0].any()
    np.testing.assert_allclose(V[:, 0], exact, rtol=0, atol=tol.EXACT_PROPAGATOR_ATOL_MV)
    assert abs(V[49, 0] - 15.738773611494663) < tol.EXACT_PROPAGATOR_ATOL_MV
    # neuron 1 crosses at 4.700036 ms: reported on the first grid point after it (4.8 ms)
    k = ref.grid_steps_to_cross(4.700036292457356, dt)
    steps = spike_steps(spk, 1)
    assert steps[0] == k - 1
    assert abs(V[k - 1, 1] - exact[k - 1]) < tol.EXACT_PROPAGATOR_ATOL_MV
    # hard reset in the next call, then one exact step from 0 mV
    assert abs(V[k, 1] - exact[0]) < tol.EXACT_PROPAGATOR_ATOL_MV
    # every later interval repeats the first one exactly
    np.testing.assert_array_equal(np.diff(steps), k)


# --------------------------------------------------------------------------------------
# LIFRef: period with refractoriness (ORACLES.md table)
# --------------------------------------------------------------------------------------

# rows of the ORACLES table as arrays over 3 neurons
LIF_ROWS = dict(R=np.array([4e7, 4e7, 1e7]), tau=np.array([10., 10., 8.]),
                V_th=np.array([15., 15., -50.]), V_reset=np.array([0., 0., -65.]),
                V_rest=np.array([0., 0., -70.]), I=np.array([1000e-9, 500e-9, 2.5e-6]))
LIF_ROW_PERIODS = np.array([6.700036292457356, 15.86294, 13.09035])


def _lifref(tau_ref):
    r = LIF_ROWS
    return lq.LIFRef(3, R=r["R"] * u.ohm, tau=r["tau"] * u.ms, tau_ref=tau_ref * u.ms,
                     V_th=r["V_th"] * u.mV, V_reset=r["V_reset"] * u.mV,
                     V_rest=r["V_rest"] * u.mV,
                     V_initializer=braintools.init.Constant(r["V_reset"] * u.mV),
                     spk_reset='hard')


def _free_times():
    r = LIF_ROWS
    return np.array([ref.lif_time_to_threshold(r["V_reset"][j], r["tau"][j], r["R"][j],
                                               r["I"][j], r["V_th"][j], r["V_rest"][j])
                     for j in range(3)])


def test_lifref_period_small_dt_matches_closed_form():
    dt, n, tau_ref = 0.01, 8000, 2.0
    T_exact = np.array([ref.lif_period(LIF_ROWS["tau"][j], LIF_ROWS["R"][j], LIF_ROWS["I"][j],
                                       LIF_ROWS["V_th"][j], LIF_ROWS["V_reset"][j],
                                       LIF_ROWS["V_rest"][j], tau_ref) for j in range(3)])
    np.testing.assert_allclose(T_exact, LIF_ROW_PERIODS, rtol=tol.ORACLE_TABLE_7SIG_RTOL)
    spk, _ = simulate(_lifref(tau_ref), dt, n, LIF_ROWS["I"] * u.mA)
    for j in range(3):
        isi = np.diff(spike_steps(spk, j)) * dt
        assert isi.size >= 4, f"row {j}: too few spikes"
        # the exact period is the same every time, so must the grid period be
        assert np.ptp(isi) < 1e-9, f"row {j}: ISIs vary {sorted(set(np.round(isi, 6)))}"
        # crossing rounded up (< dt) and refractory end on the grid (< dt)
        assert abs(isi.mean() - T_exact[j]) <= dt + 1e-9, (j, isi.mean(), T_exact[j])


@pytest.mark.parametrize("tau_ref", [1.925, 2.0])
def test_lifref_period_on_coarse_grid(tau_ref):
    """dt = 0.1 ms.  tau_ref = 1.925 ms is 19.25 steps, away from float-fragile values;
    tau_ref = 2.0 ms is exactly 20 steps, where ``t - t_last < tau_ref`` evaluated in
    floats can flip from spike to spike: the count must be the exact-arithmetic one
    (K = 19) every time (the float rule of brainpy.state first slips at t = 1030 ms)."""
    dt, n = 0.1, 12000
    spk, rec = simulate(_lifref(tau_ref), dt, n, LIF_ROWS["I"] * u.mA)
    V = mv(rec["V"])
    T_free = _free_times()
    K = ref.refractory_held_steps(tau_ref, dt, exact_arithmetic=True)
    for j in range(3):
        steps = spike_steps(spk, j)
        m = ref.grid_steps_to_cross(T_free[j], dt)
        assert steps[0] == m - 1, f"row {j}: first spike at step {steps[0]}, expected {m - 1}"
        expected_isi = ref.lifref_grid_isi_steps(T_free[j], tau_ref, dt, exact_arithmetic=True)
        np.testing.assert_array_equal(np.diff(steps), expected_isi,
                                      err_msg=f"row {j}: ISI in steps (K={K}, m={m})")
        # held at V_reset for K calls after the spiking call, then one exact step
        s = steps[0]
        np.testing.assert_array_equal(V[s + 1:s + 1 + K, j], LIF_ROWS["V_reset"][j])
        V1 = ref.lif_subthreshold(dt, LIF_ROWS["V_reset"][j], LIF_ROWS["tau"][j],
                                  LIF_ROWS["R"][j], LIF_ROWS["I"][j], LIF_ROWS["V_rest"][j])
        assert abs(V[s + 1 + K, j] - V1) < tol.EXACT_PROPAGATOR_ATOL_MV


# --------------------------------------------------------------------------------------
# QuaIF: arctan passage time
# --------------------------------------------------------------------------------------

QUAIF = dict(tau=10.0, R=1.0, V_rest=-65.0, V_c=-50.0, c=0.07, V_reset=-68.0, V_th=-30.0)
QUAIF_I = 20.0  # mA with R = 1 ohm: R I = 20 mV > c delta^2 = 3.94 mV


@pytest.mark.parametrize("dt", [0.01, 0.001])
def test_quaif_period_matches_arctan_formula(dt):
    q = QUAIF
    T = ref.quaif_time_to_threshold(q["tau"], q["c"], q["R"], QUAIF_I, q["V_rest"], q["V_c"],
                                    q["V_reset"], q["V_th"])
    n = int(2.3 * T / dt)
    model = lq.QuaIF(1, R=q["R"] * u.ohm, tau=q["tau"] * u.ms, V_th=q["V_th"] * u.mV,
                     V_reset=q["V_reset"] * u.mV, V_rest=q["V_rest"] * u.mV,
                     V_c=q["V_c"] * u.mV, c=q["c"] / u.mV,
                     V_initializer=braintools.init.Constant(q["V_reset"] * u.mV),
                     spk_reset='hard')
    spk, rec = simulate(model, dt, n, QUAIF_I * u.mA)
    V = mv(rec["V"])[:, 0]
    steps = spike_steps(spk)
    assert steps.size == 2, f"expected 2 spikes, got {steps.size}"

    # state: every stored V against the tan trajectory from the last reset
    n_per_period = T / dt
    state_tol = tol.QUAIF_STATE_FLOOR_MV + tol.QUAIF_F32_DRIFT_MV_PER_STEP * n_per_period
    elapsed = steps_since_reset(steps, n) * dt
    exact = ref.quaif_trajectory(elapsed, q["V_reset"], q["tau"], q["c"], q["R"], QUAIF_I,
                                 q["V_rest"], q["V_c"])
    # the stored V of a spiking step is only required to be at/above threshold (a model may
    # clamp an overshoot to V_th); every other step must follow the trajectory
    assert np.all(V[steps] >= q["V_th"]), V[steps]
    sub = np.ones(n, dtype=bool)
    sub[steps] = False
    err = np.where(sub, np.abs(V - exact), 0.0)
    assert err.max() < state_tol, f"max |V - V_exact| = {err.max():.3g} mV at step {err.argmax()}"

    # period: the first grid point at/after T, give or take the state tolerance
    slope = q["c"] * (q["V_th"] - q["V_rest"]) * (q["V_th"] - q["V_c"]) / q["tau"] + QUAIF_I * q["R"] / q["tau"]
    t_tol = state_tol / slope
    first = (steps[0] + 1) * dt
    isi = (steps[1] - steps[0]) * dt
    for label, value in (("first passage", first), ("ISI", isi)):
        assert T - t_tol <= value <= T + dt + t_tol, f"{label} {value} vs T = {T} (dt = {dt})"


# --------------------------------------------------------------------------------------
# AdEx: saddle-node rheobase and Naud et al. (2008) firing patterns
# --------------------------------------------------------------------------------------

def _adex(cls, params, **extra):
    """Build ``cls`` from a list of seed-unit parameter dicts (one neuron each)."""
    arr = lambda k: np.array([p[k] for p in params], dtype=float)
    return cls(len(params), R=arr("R") * u.ohm, tau=arr("tau") * u.ms,
               tau_w=arr("tau_w") * u.ms, V_th=arr("V_th") * u.mV,
               V_reset=arr("V_reset") * u.mV, V_rest=arr("V_rest") * u.mV,
               V_T=arr("V_T") * u.mV, delta_T=arr("delta_T") * u.mV,
               a=arr("a") * u.siemens, b=arr("b") * u.mA,
               V_initializer=braintools.init.Constant(arr("V0") * u.mV),
               w_initializer=braintools.init.Constant(arr("w0") * u.mA),
               spk_reset='hard', **extra)


def test_adex_rheobase_saddle_node():
    """Tonic-spiking row (a = 2 nS < C/tau_w = 6.7 nS), b = 0: +-1 % around I_SN."""
    dt, T_run = 0.1, 3000.0
    p = ref.naud_seed_params("tonic")
    p.pop("I")
    I_sn = ref.adex_rheobase(p["R"], p["a"], p["V_T"], p["V_rest"], p["delta_T"])
    assert abs(I_sn * 1e9 - 220.3757) < 1e-4  # pA: 12 nS * (18 + 2 ln 1.2) mV
    factors = np.array([0.99, 1.01])
    n = int(T_run / dt)
    spk, rec = simulate(_adex(lq.AdExIF, [p, p]), dt, n, factors * I_sn * u.mA,
                        record=("V", "w"))
    assert np.all(np.isfinite(mv(rec["V"]))) and np.all(np.isfinite(ma(rec["w"])))
    late = n // 2
    below, above = spike_steps(spk, 0), spike_steps(spk, 1)
    assert np.sum(below >= late) == 0, f"0.99 I_SN: {np.sum(below >= late)} late spikes"
    assert np.sum(above >= late) >= 5, f"1.01 I_SN: {np.sum(above >= late)} late spikes"
    # the steady ISI against solve_ivp
    r = ref.simulate_adex(1.01 * I_sn, T_run, **p)
    isi_ref = np.diff(r.spike_times)[-1]
    isi = np.diff(above)[-1] * dt
    assert abs(isi - isi_ref) < tol.ADEX_NEAR_RHEOBASE_ISI_RTOL * isi_ref, (isi, isi_ref)


NAUD_TESTED = ["tonic", "adaptation", "initial_burst", "regular_bursting",
               "delayed_accelerating"]


def test_adex_naud_firing_patterns():
    dt, T_run, n_spikes = 0.01, 170.0, 5
    params = [ref.naud_seed_params(k) for k in NAUD_TESTED]
    I = np.array([p.pop("I") for p in params])
    n = int(round(T_run / dt))
    spk, rec = simulate(_adex(lq.AdExIF, params), dt, n, I * u.mA, record=("V",))
    assert np.all(np.isfinite(mv(rec["V"])))
    failures = []
    for j, name in enumerate(NAUD_TESTED):
        r = ref.simulate_adex(I[j], T_run, **params[j])
        t_ref = r.spike_times[:n_spikes]
        assert t_ref.size == n_spikes
        t_mod = (spike_steps(spk, j)[:n_spikes] + 1) * dt
        if t_mod.size < n_spikes or np.max(np.abs(t_mod - t_ref)) > tol.NAUD_SPIKE_TIME_ATOL_MS:
            failures.append(f"{name}: model {np.round(t_mod, 3)} vs solve_ivp {np.round(t_ref, 3)}")
    assert not failures, "\n".join(failures)


def test_adexref_holds_v_and_w_during_refractoriness():
    """Adaptation row with tau_ref = 2.0025 ms at dt = 0.01 ms: K = 200 held calls, so the
    grid refractory period is K dt = 2.0 ms."""
    dt, T_run, tau_ref, n_spikes = 0.01, 120.0, 2.0025, 5
    p = ref.naud_seed_params("adaptation")
    I = p.pop("I")
    K = ref.refractory_held_steps(tau_ref, dt)
    n = int(round(T_run / dt))
    spk, rec = simulate(_adex(lq.AdExIFRef, [p], tau_ref=tau_ref * u.ms), dt, n, I * u.mA,
                        record=("V", "w"))
    V, w = mv(rec["V"])[:, 0], ma(rec["w"])[:, 0]
    steps = spike_steps(spk)
    r = ref.simulate_adex(I, T_run, tau_ref=K * dt, **p)
    t_mod = (steps[:n_spikes] + 1) * dt
    t_ref = r.spike_times[:n_spikes]
    assert t_mod.size == n_spikes
    np.testing.assert_allclose(t_mod, t_ref, rtol=0, atol=tol.NAUD_SPIKE_TIME_ATOL_MS)
    for s in steps[:n_spikes]:
        np.testing.assert_array_equal(V[s + 1:s + 1 + K], p["V_reset"])
        held_w = w[s + 1:s + 1 + K]
        np.testing.assert_array_equal(held_w, held_w[0])
        assert abs(held_w[0] - w[s] - p["b"]) <= 1e-5 * p["b"]  # w jumps by b (float32)
        assert V[s + 1 + K] != p["V_reset"]  # integration resumes after K held calls


# --------------------------------------------------------------------------------------
# AdQuaIF against solve_ivp
# --------------------------------------------------------------------------------------

def test_adquaif_spike_times():
    dt, T_run, n_spikes = 0.01, 150.0, 8
    p = dict(tau=10.0, R=1.0, V_rest=-65.0, V_reset=-68.0, V_th=-30.0, V_c=-50.0, c=0.07,
             a=0.05, b=1.0, tau_w=100.0)
    I = 20.0
    model = lq.AdQuaIF(1, R=p["R"] * u.ohm, tau=p["tau"] * u.ms, tau_w=p["tau_w"] * u.ms,
                       V_th=p["V_th"] * u.mV, V_reset=p["V_reset"] * u.mV,
                       V_rest=p["V_rest"] * u.mV, V_c=p["V_c"] * u.mV, c=p["c"] / u.mV,
                       a=p["a"] * u.siemens, b=p["b"] * u.mA,
                       V_initializer=braintools.init.Constant(-65. * u.mV), spk_reset='hard')
    n = int(round(T_run / dt))
    spk, _ = simulate(model, dt, n, I * u.mA)
    r = ref.simulate_adquaif(I, T_run, V0=-65.0, **p)
    t_ref = r.spike_times[:n_spikes]
    t_mod = (spike_steps(spk)[:n_spikes] + 1) * dt
    assert t_ref.size == n_spikes and t_mod.size == n_spikes
    # adaptation is visible: ISIs grow
    assert np.all(np.diff(np.diff(t_ref)) > 0)
    np.testing.assert_allclose(t_mod, t_ref, rtol=0, atol=tol.ADQUAIF_SPIKE_TIME_ATOL_MS)


# --------------------------------------------------------------------------------------
# ALIF against solve_ivp (grid-synchronous resets)
# --------------------------------------------------------------------------------------

def test_alif_matches_event_driven_reference():
    dt = 0.1
    cur = [(15.0, 100.0), (0.0, 20.0), (25.0, 80.0)]  # mA, ms (R = 1 ohm)
    pars = dict(tau=10.0, R=1.0, V_rest=0.0, V_reset=0.0, V_th=10.0, beta=2.0, tau_a=100.0)
    n = int(round(200.0 / dt))
    t = np.arange(1, n + 1) * dt
    r = ref.simulate_alif(cur, None, grid_dt=dt, sample_times=t, **pars)
    frac = np.mod(r.crossing_times / dt, 1.0)
    assert np.min(np.minimum(frac, 1 - frac)) > tol.MIN_CROSSING_GRID_MARGIN  # test validity

    model = lq.ALIF(1, R=1. * u.ohm, tau=10. * u.ms, tau_a=100. * u.ms, V_th=10. * u.mV,
                    V_reset=0. * u.mV, V_rest=0. * u.mV, beta=2. * u.mV, spk_reset='hard')
    x = piecewise_array(cur, dt, n)[:, None] * u.mA
    spk, rec = simulate(model, dt, n, x, record=("V", "a"), varying=True)
    steps = spike_steps(spk)
    ref_steps = np.round(r.spike_times / dt).astype(int) - 1
    assert r.spike_times.size >= 8
    np.testing.assert_array_equal(steps, ref_steps)
    np.testing.assert_allclose(mv(rec["V"])[:, 0], r.states["V"], rtol=0,
                               atol=tol.EXACT_PROPAGATOR_ATOL_MV)
    np.testing.assert_allclose(np.asarray(rec["a"], dtype=float)[:, 0], r.states["a"], rtol=0,
                               atol=tol.EXACT_PROPAGATOR_ATOL_A)


# --------------------------------------------------------------------------------------
# Gif (Mihalas & Niebur 2009)
# --------------------------------------------------------------------------------------

def _gif(panels, **extra):
    ps = [ref.gif_panel_params(k)[0] for k in panels]
    arr = lambda k: np.array([p[k] for p in ps], dtype=float)
    return lq.Gif(len(panels), a=arr("a") / u.ms, A1=arr("A1") * u.mA, A2=arr("A2") * u.mA,
                  spk_reset='hard', **extra)


@pytest.mark.parametrize("dt", [0.1, 0.01])
def test_gif_panel_a_period_is_20_ln3(dt):
    n = int(round(100.0 / dt))
    spk, rec = simulate(_gif(["A"]), dt, n, 1.5 * u.mA, record=("V", "V_th", "I1", "I2"))
    steps = spike_steps(spk)
    m = ref.grid_steps_to_cross(ref.GIF_PANEL_A_PERIOD_MS, dt)
    assert steps.size == n // m
    np.testing.assert_array_equal(steps, m * np.arange(1, steps.size + 1) - 1)
    assert abs(m * dt - 20 * math.log(3)) <= dt
    np.testing.assert_array_equal(mv(rec["V_th"]), -50.0)
    np.testing.assert_array_equal(ma(rec["I1"]), 0.0)
    np.testing.assert_array_equal(ma(rec["I2"]), 0.0)


GIF_TRACE_PANELS = ["C", "E", "M", "N", "Q"]


def test_gif_panels_match_event_driven_reference():
    """Spike times and all four states (V, V_th, I1, I2) against solve_ivp, 200 ms."""
    dt, T_run = 0.01, 200.0
    n = int(round(T_run / dt))
    t = np.arange(1, n + 1) * dt
    currents = [ref.gif_panel_params(k)[1] for k in GIF_TRACE_PANELS]
    x = np.stack([piecewise_array(c, dt, n) for c in currents], axis=1) * u.mA
    spk, rec = simulate(_gif(GIF_TRACE_PANELS), dt, n, x, record=("V", "V_th", "I1", "I2"),
                        varying=True)
    model_states = dict(V=mv(rec["V"]), V_th=mv(rec["V_th"]), I1=ma(rec["I1"]),
                        I2=ma(rec["I2"]))
    state_tol = dict(V=tol.GIF_V_ATOL_MV, V_th=tol.GIF_VTH_ATOL_MV, I1=tol.GIF_I1_ATOL_MA,
                     I2=tol.GIF_I2_ATOL_MA)
    failures = []
    for j, panel in enumerate(GIF_TRACE_PANELS):
        p, cur, _ = ref.gif_panel_params(panel)
        r = ref.simulate_gif(cur, T_run, grid_dt=dt, sample_times=t, **p)
        steps = spike_steps(spk, j)
        t_mod = (steps + 1) * dt
        if t_mod.size != r.spike_times.size:
            failures.append(f"panel {panel}: {t_mod.size} spikes, reference "
                            f"{r.spike_times.size} ({np.round(r.spike_times, 2)})")
            continue
        shift = np.max(np.abs(t_mod - r.spike_times)) if t_mod.size else 0.0
        if shift > tol.GIF_SPIKE_TIME_ATOL_MS:
            failures.append(f"panel {panel}: spike times off by up to {shift:.3f} ms")
            continue
        # states may lag by the spike-time shift: allow |slope| * shift on top of atol
        S = r.states
        drive = piecewise_array(cur, dt, n)
        slope = dict(
            V=np.abs(-(S["V"] - p["V_rest"]) + p["R"] * (S["I1"] + S["I2"] + drive)) / p["tau"],
            V_th=np.abs(p["a"] * (S["V"] - p["V_rest"]) - p["b"] * (S["V_th"] - p["V_th_inf"])),
            I1=p["k1"] * np.abs(S["I1"]), I2=p["k2"] * np.abs(S["I2"]))
        ref_steps = np.round(r.spike_times / dt).astype(int) - 1
        mask = away_from_spikes(n, steps, ref_steps, tol.GIF_SPIKE_MARGIN_STEPS)
        for key, atol in state_tol.items():
            excess = (np.abs(model_states[key][:, j] - S[key]) - slope[key] * shift)[mask]
            if excess.max() > atol:
                k = np.nonzero(mask)[0][excess.argmax()]
                failures.append(f"panel {panel}: {key} = {model_states[key][k, j]:.5g}, "
                                f"reference {S[key][k]:.5g} at t = {t[k]:.2f} ms (tol {atol} "
                                f"+ slope x {shift:.2f} ms spike shift)")
    assert not failures, "\n".join(failures)


def test_gif_spikes_only_when_v_reaches_threshold_below_v_reset():
    """Panels K (hyperpolarisation-induced spiking) and G (rebound spike): the dynamic
    threshold is driven below V_reset; a spike needs V >= V_th (Mihalas & Niebur)."""
    dt = 0.05
    panels = ["K", "G"]
    T_run = 1000.0
    n = int(round(T_run / dt))
    t = np.arange(1, n + 1) * dt
    currents = [ref.gif_panel_params(k)[1] for k in panels]
    lengths = [ref.gif_panel_params(k)[2] for k in panels]
    x = np.stack([piecewise_array(c, dt, n) if np.ndim(c) else
                  piecewise_array([(c, L)], dt, n) for c, L in zip(currents, lengths)],
                 axis=1) * u.mA
    spk, rec = simulate(_gif(panels), dt, n, x, record=("V", "V_th"), varying=True)
    failures = []
    for j, panel in enumerate(panels):
        p, cur, L = ref.gif_panel_params(panel)
        cur = cur if np.ndim(cur) else [(cur, L)]
        r = ref.simulate_gif(cur, T_run, grid_dt=dt, **p)
        t_mod = (spike_steps(spk, j) + 1) * dt
        ok = (t_mod.size == r.spike_times.size and
              (t_mod.size == 0 or np.max(np.abs(t_mod - r.spike_times))
               <= tol.GIF_LOW_THRESHOLD_SPIKE_ATOL_MS))
        if not ok:
            failures.append(f"panel {panel}: model spikes {np.round(t_mod, 2)} vs "
                            f"solve_ivp {np.round(r.spike_times, 2)}")
        V, Vth = mv(rec["V"])[:, j], mv(rec["V_th"])[:, j]
        bad = spike_steps(spk, j)[V[spike_steps(spk, j)] < Vth[spike_steps(spk, j)]]
        if bad.size:
            failures.append(f"panel {panel}: spike reported with V < V_th at t = "
                            f"{np.round((bad[:3] + 1) * dt, 2)} ms "
                            f"(V = {V[bad[0]]:.2f}, V_th = {Vth[bad[0]]:.2f} mV)")
    assert not failures, "\n".join(failures)
