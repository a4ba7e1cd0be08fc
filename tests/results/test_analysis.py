"""lapicque.analysis: the f-I helper against the LIF closed form; rates, ISIs and CVs on known trains."""

import math

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque import analysis

# LIF parameters of the closed-form test (R I in mV for I in mA)
TAU, TAU_REF, V_TH, V_RESET, V_REST = 10.0, 2.0, -50.0, -60.0, -65.0


def lif_period_ms(I_ma, tau_ref=TAU_REF):
    """T = tau_ref + tau ln((RI - (V_reset - V_rest)) / (RI - (V_th - V_rest))), R = 1 ohm."""
    RI = np.asarray(I_ma, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        T = tau_ref + TAU * np.log((RI - (V_RESET - V_REST)) / (RI - (V_TH - V_REST)))
    return np.where(RI > V_TH - V_REST, T, np.inf)


def test_fi_curve_matches_lif_closed_form():
    I = np.array([10., 14.9, 15.5, 17., 20., 30., 50., 100.], dtype=np.float32)
    dt = 0.1
    rates = analysis.fi_curve("LIFRef", I * u.mA, 500 * u.ms, dt * u.ms, tau=TAU * u.ms, tau_ref=TAU_REF * u.ms,
                              V_th=V_TH * u.mV, V_reset=V_RESET * u.mV, V_rest=V_REST * u.mV,
                              V_initializer=V_REST * u.mV, spk_reset="hard")
    assert u.get_unit(rates) == u.Hz and rates.shape == (len(I),)
    r = np.asarray(rates.to_decimal(u.Hz), dtype=np.float64)
    T = lif_period_ms(I)
    # below rheobase (R I <= V_th - V_rest = 15 mV): silent
    assert np.all(r[T == np.inf] == 0)
    # above: the simulated period is the closed form rounded to the time grid, so within one dt
    fires = np.isfinite(T)
    assert fires.sum() == 6
    period = 1e3 / r[fires]
    assert np.all(np.abs(period - T[fires]) <= dt * 1.001), (period, T[fires])
    # and the rate approaches the closed form as dt shrinks
    fine = analysis.fi_curve("LIFRef", I[fires] * u.mA, 200 * u.ms, 0.01 * u.ms, tau=TAU * u.ms,
                             tau_ref=TAU_REF * u.ms, V_th=V_TH * u.mV, V_reset=V_RESET * u.mV,
                             V_rest=V_REST * u.mV, V_initializer=V_REST * u.mV, spk_reset="hard")
    period_fine = 1e3 / np.asarray(fine.to_decimal(u.Hz), dtype=np.float64)
    assert np.all(np.abs(period_fine - T[fires]) <= 0.01 * 1.001)


def test_fi_curve_accepts_class_instance_and_methods():
    I = np.linspace(0., 5., 6, dtype=np.float32) * u.mA
    by_name = analysis.fi_curve("LIF", I, 200 * u.ms)
    by_class = analysis.fi_curve(lq.LIF, I, 200 * u.ms)
    by_instance = analysis.fi_curve(lq.LIF(6), I, 200 * u.ms)
    np.testing.assert_array_equal(by_name.mantissa, by_class.mantissa)
    np.testing.assert_array_equal(by_name.mantissa, by_instance.mantissa)
    counted = analysis.fi_curve("LIF", I, 200 * u.ms, method="count")
    np.testing.assert_allclose(counted.mantissa, by_name.mantissa, rtol=0.05, atol=5.1)
    # monotone in the current for the LIF
    assert np.all(np.diff(np.asarray(by_name.mantissa)) >= 0)


def test_fi_curve_transient_removes_adaptation():
    I = [30.] * u.mA
    onset = analysis.fi_curve("AdExIF", I, 500 * u.ms)
    steady = analysis.fi_curve("AdExIF", I, 500 * u.ms, transient=300 * u.ms)
    assert float(steady[0].to_decimal(u.Hz)) < float(onset[0].to_decimal(u.Hz))


def test_fi_curve_errors():
    with pytest.raises(ValueError, match="unknown model"):
        analysis.fi_curve("LIFF", [1.] * u.mA)
    with pytest.raises(ValueError, match="one neuron per current"):
        analysis.fi_curve(lq.LIF(3), [1., 2.] * u.mA)
    with pytest.raises(TypeError, match="current quantity"):
        analysis.fi_curve("LIF", [1., 2.] * u.mV)
    with pytest.raises(ValueError, match="method"):
        analysis.fi_curve("LIF", [1.] * u.mA, method="mean")


# --------------------------------------------------------------------------
# statistics on known trains (raw rasters, no simulation)
# --------------------------------------------------------------------------
def _raster():
    """1000 steps of 0.1 ms: neuron 0 fires every 10 steps, neuron 1 at steps 0, 10, 30, 60; neuron 2 never."""
    r = np.zeros((1000, 3), bool)
    r[9::10, 0] = True
    r[[0, 10, 30, 60], 1] = True
    return r


def test_spike_times_isi_and_cv_on_known_trains():
    r = _raster()
    times = analysis.spike_times(r, dt=0.1 * u.ms)
    assert len(times) == 3
    np.testing.assert_allclose(times[0].to_decimal(u.ms)[:3], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(times[1].to_decimal(u.ms), [0.1, 1.1, 3.1, 6.1], rtol=1e-6)
    assert times[2].size == 0
    isis = analysis.isi(times)
    np.testing.assert_allclose(isis[1].to_decimal(u.ms), [1., 2., 3.], rtol=1e-6)
    cv = analysis.isi_cv(r, dt=0.1 * u.ms)
    assert cv[0] == pytest.approx(0.0, abs=1e-6)
    d = np.array([1., 2., 3.])
    assert cv[1] == pytest.approx(d.std() / d.mean(), rel=1e-6)
    assert math.isnan(cv[2])
    assert analysis.isi_cv([0., 1., 2.] * u.ms) == pytest.approx(0.0)


def test_firing_rate_windows_and_methods():
    r = _raster()
    rate = analysis.firing_rate(r, dt=0.1 * u.ms)
    np.testing.assert_allclose(rate.to_decimal(u.Hz), [1000., 40., 0.])
    # window (50 ms, 100 ms]: neuron 0 has 50 spikes there
    half = analysis.firing_rate(r, dt=0.1 * u.ms, start=50 * u.ms, stop=100 * u.ms)
    np.testing.assert_allclose(half.to_decimal(u.Hz), [1000., 0., 0.])
    isi_rate = analysis.firing_rate(r, dt=0.1 * u.ms, method="isi")
    np.testing.assert_allclose(isi_rate.to_decimal(u.Hz), [1000., 500., 0.], rtol=1e-5)
    with pytest.raises(TypeError, match="dt"):
        analysis.firing_rate(r)


def test_population_rate():
    r = _raster()
    pop = analysis.population_rate(r, dt=0.1 * u.ms)
    assert pop.shape == (1000,)
    # mean over time equals the mean of the neurons' rates
    assert float(np.mean(pop.to_decimal(u.Hz))) == pytest.approx((1000. + 40.) / 3, rel=1e-5)
    smooth = analysis.population_rate(r, dt=0.1 * u.ms, window=2 * u.ms)
    assert float(np.asarray(smooth.to_decimal(u.Hz))[500]) == pytest.approx(1000. / 3, rel=1e-5)


def test_analysis_of_a_simulation_result():
    res = lq.simulate(lq.LIF(3, spk_reset="hard"), [0.5, 2., 4.] * u.mA, 100 * u.ms)
    rate = analysis.firing_rate(res, method="isi")
    # LIF: T = tau ln(RI / (RI - V_th)) rounded up to the grid: 2 mA -> 3.5 ms, 4 mA -> 1.5 ms
    np.testing.assert_allclose(rate.to_decimal(u.Hz), [0., 1e3 / 3.5, 1e3 / 1.5], rtol=1e-5)
    cv = analysis.isi_cv(res)
    assert cv.shape == (3,) and math.isnan(cv[0]) and cv[1] == pytest.approx(0, abs=1e-5)
    assert len(analysis.isi(res)) == 3
