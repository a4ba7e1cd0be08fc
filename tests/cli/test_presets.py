"""lapicque.presets: the published numbers, what each cell does with them, and check() / the Python warning.

The numbers are written here from the papers (not from lapicque.patterns), so that a preset and its source
are compared, not a table with itself:

* Brette et al. (2007), benchmarks 1-2: C = 200 pF, g_L = 10 nS (tau = 20 ms, R = 100 MOhm), E_L = -60 mV,
  V_th = -50 mV, V_reset = -60 mV, tau_ref = 5 ms;
* Brette & Gerstner (2005): C = 281 pF, g_L = 30 nS, E_L = -70.6 mV, V_T = -50.4 mV, Delta_T = 2 mV,
  tau_w = 144 ms, a = 4 nS, b = 0.0805 nA, reset to E_L; spike cut-off V_T + 5 Delta_T;
* Naud et al. (2008), Table 1 (C pF, g_L nS, E_L, V_T, Delta_T mV, a nS, tau_w ms, b pA, V_r mV, I pA);
* Mihalas & Niebur (2009), Table 1: a (1/s), A1/C, A2/C (V/s) of a few behaviours.
"""

import warnings

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque import presets


def _f(q, unit):
    return float(np.asarray(q.to_decimal(unit)))


def test_brette2007_values_and_rate():
    p = presets.brette2007.parameters()
    assert _f(p["R"], u.Mohm) == pytest.approx(100) and _f(p["tau"], u.ms) == 20
    assert _f(p["tau_ref"], u.ms) == 5
    assert [_f(p[k], u.mV) for k in ("V_rest", "V_th", "V_reset", "V_initializer")] == [-60, -50, -60, -60]
    # C = tau / R = 200 pF
    assert _f(p["tau"], u.ms) / _f(p["R"], u.Mohm) * 1e3 == pytest.approx(200)
    res = lq.simulate(presets.brette2007(), 200 * u.pA, 1000 * u.ms)
    assert int(res.spike_count[0]) == int(1000 / (5 + 20 * np.log(2)))  # 53
    below = lq.simulate(presets.brette2007(), 99 * u.pA, 500 * u.ms)  # rheobase 100 pA
    assert int(below.spike_count[0]) == 0


def test_brette2005_values_and_adaptation():
    p = presets.brette2005.parameters()
    C_pF = _f(p["tau"], u.ms) / _f(p["R"], u.Mohm) * 1e3
    assert C_pF == pytest.approx(281, rel=1e-5) and 1e3 / _f(p["R"], u.Mohm) == pytest.approx(30, rel=1e-5)
    assert [_f(p[k], u.mV) for k in ("V_rest", "V_T", "delta_T", "V_reset")] == pytest.approx([-70.6, -50.4, 2, -70.6])
    assert _f(p["V_th"], u.mV) == pytest.approx(-50.4 + 5 * 2)
    assert _f(p["tau_w"], u.ms) == 144 and _f(p["a"], u.nS) == 4 and _f(p["b"], u.pA) == pytest.approx(80.5)
    assert _f(p["w_initializer"], u.pA) == 0  # a quantity (a bare 0.0 is refused by the model)
    res = lq.simulate(presets.brette2005(), 1 * u.nA, 500 * u.ms)
    isi = np.diff(np.asarray(res.spike_times[0].to_decimal(u.ms)))
    assert isi.size >= 5 and np.all(np.diff(isi[:6]) > 0)  # the intervals lengthen


NAUD_TABLE_1 = {  # C, g_L, E_L, V_T, Delta_T, a, tau_w, b, V_r, I
    "tonic": (200, 10, -70, -50, 2, 2, 30, 0, -58, 500),
    "adaptation": (200, 12, -70, -50, 2, 2, 300, 60, -58, 500),
    "initial_burst": (130, 18, -58, -50, 2, 4, 150, 120, -50, 400),
    "regular_bursting": (200, 10, -58, -50, 2, 2, 120, 100, -46, 210),
    "delayed_accelerating": (200, 12, -70, -50, 2, -10, 300, 0, -58, 300),
    "delayed_regular_bursting": (100, 10, -65, -50, 2, -10, 90, 30, -47, 110),
    "transient": (100, 10, -65, -50, 2, 10, 90, 100, -47, 180),
    "irregular": (100, 12, -60, -50, 2, -11, 130, 30, -48, 160),
}


@pytest.mark.parametrize("key", NAUD_TABLE_1)
def test_naud2008_values(key):
    C, gL, EL, VT, dT, a, tau_w, b, Vr, I = NAUD_TABLE_1[key]
    p = presets.naud2008.parameters(key)
    assert 1e3 / _f(p["R"], u.Mohm) == pytest.approx(gL, rel=1e-5)
    assert _f(p["tau"], u.ms) == pytest.approx(C / gL, rel=1e-5)
    assert [_f(p[k], u.mV) for k in ("V_rest", "V_T", "delta_T", "V_reset", "V_initializer")] == \
        pytest.approx([EL, VT, dT, Vr, EL])
    assert _f(p["a"], u.nS) == pytest.approx(a) and _f(p["tau_w"], u.ms) == tau_w and _f(p["b"], u.pA) == b
    assert float(np.max(np.abs(np.asarray(presets.naud2008.stimulus(key).to_decimal(u.pA))))) == pytest.approx(I)


MIHALAS_TABLE_1 = {"A": (0, 0, 0), "C": (5, 0, 0), "K": (30, 0, 0), "L": (30, 10, -0.6), "P": (5, 5, -0.3),
                   "R": (0, 8, -0.1), "S": (5, -3, 0.5), "T": (-80, 0, 0)}


@pytest.mark.parametrize("key", MIHALAS_TABLE_1)
def test_mihalas2009_values(key):
    a, A1, A2 = MIHALAS_TABLE_1[key]
    p = presets.mihalas2009.parameters(key)
    assert _f(p["a"], u.Hz) == pytest.approx(a, abs=1e-9)
    # currents I/C in V/s are mA with R = 20 ohm and tau = 20 ms (C = 1)
    assert _f(p["A1"], u.mA) == pytest.approx(A1) and _f(p["A2"], u.mA) == pytest.approx(A2)
    cell = presets.mihalas2009(pattern=key)
    assert _f(cell.R, u.ohm) == 20 and _f(cell.tau, u.ms) == 20


def test_every_preset_builds_its_models():
    for preset in presets.PRESETS.values():
        for model in preset.models:
            cell = preset(3, model=model)
            assert type(cell).__name__ == model
            assert presets.check(cell, 1 * u.nA if preset.family != "gif" else 1.5 * u.mA) == []


def test_simulate_warns_once_for_a_current_R_cannot_feel():
    m = lq.LIF(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            lq.simulate(m, 500 * u.pA, 2 * u.ms)
    drive = [w for w in caught if issubclass(w.category, presets.DriveWarning)]
    assert len(drive) == 1, [str(w.message) for w in caught]
    assert "R = 1 ohm" in str(drive[0].message) and "lapicque.presets.brette2007()" in str(drive[0].message)
    assert drive[0].filename == __file__  # points at the call of simulate


def test_simulate_warns_for_a_start_above_threshold():
    m = lq.LIF(1, V_rest=-70 * u.mV, V_th=-50 * u.mV, V_reset=-70 * u.mV)
    with pytest.warns(presets.DriveWarning, match=r"V starts at 0 mV .* V_initializer=-70 \* u\.mV"):
        lq.simulate(m, 25 * u.mA, 1 * u.ms)


def test_simulate_does_not_warn_for_sound_runs():
    with warnings.catch_warnings():
        warnings.simplefilter("error", presets.DriveWarning)
        lq.simulate(lq.LIF(2), [2.0, 0.0] * u.mA, 2 * u.ms)
        lq.simulate(lq.LIF(2), 0 * u.mA, 2 * u.ms)
        lq.simulate(presets.brette2007(2), 200 * u.pA, 2 * u.ms)
        lq.simulate(lq.LIF(1), lambda t: 2 * u.mA, 2 * u.ms)
