"""simulate() reuses its compiled loop across calls, never with stale inputs."""

import numpy as np
import saiunit as u

import lapicque as lq
from lapicque import simulate as _sim_fn  # noqa: F401  (the function)
import importlib

sim_mod = importlib.import_module("lapicque.simulate")

I = np.linspace(1., 5., 40) * u.mA


def _entries(model):
    return len(sim_mod._COMPILED.get(model, {}))


def test_repeated_run_reuses_the_loop_and_gives_identical_results():
    m = lq.LIFRef(40, tau_ref=2. * u.ms)
    r1 = lq.simulate(m, I, 30 * u.ms, record=("V",), progress=False)
    assert _entries(m) == 1
    r2 = lq.simulate(m, I, 30 * u.ms, record=("V",), progress=False)
    assert _entries(m) == 1
    np.testing.assert_array_equal(r1.spike_raster(), r2.spike_raster())
    np.testing.assert_array_equal(r1["V"].to_decimal(u.mV), r2["V"].to_decimal(u.mV))


def test_continuation_after_a_cached_run_equals_one_long_run():
    m = lq.AdExIFRef(40, tau_ref=1.95 * u.ms)
    I2 = np.linspace(10., 40., 40) * u.mA
    lq.simulate(m, I2, 20 * u.ms, progress=False)
    a = lq.simulate(m, I2, 20 * u.ms, progress=False)           # cached loop, fresh initial state
    b = lq.simulate(m, I2, 20 * u.ms, init=False, t0=a.t_end, progress=False)
    whole = lq.simulate(lq.AdExIFRef(40, tau_ref=1.95 * u.ms), I2, 40 * u.ms, progress=False)
    np.testing.assert_array_equal(np.concatenate([a.spike_raster(), b.spike_raster()]), whole.spike_raster())


def test_changing_a_parameter_or_the_input_shape_recompiles():
    m = lq.LIF(40, tau=10. * u.ms)
    r1 = lq.simulate(m, I, 30 * u.ms, progress=False)
    m.tau = 5. * u.ms
    r2 = lq.simulate(m, I, 30 * u.ms, progress=False)
    assert _entries(m) == 2
    assert r2.spike_count.sum() > r1.spike_count.sum()   # faster membrane -> more spikes
    ref = lq.simulate(lq.LIF(40, tau=5. * u.ms), I, 30 * u.ms, progress=False)
    np.testing.assert_array_equal(r2.spike_raster(), ref.spike_raster())
    series = np.broadcast_to(I.to_decimal(u.mA), (300, 40)) * u.mA
    r3 = lq.simulate(m, series, 30 * u.ms, progress=False)
    np.testing.assert_array_equal(r3.spike_raster(), r2.spike_raster())


def test_new_state_objects_are_not_confused_with_cached_ones():
    m = lq.LIF(40)
    lq.simulate(m, I, 10 * u.ms, progress=False)
    m.init_state()                       # new State objects, same shapes
    m.V.value = np.full(40, 0.9, np.float32) * u.mV
    r = lq.simulate(m, I, 10 * u.ms, init=False, progress=False)
    ref = lq.LIF(40)
    ref.init_state()
    ref.V.value = np.full(40, 0.9, np.float32) * u.mV
    np.testing.assert_array_equal(r.spike_raster(), lq.simulate(ref, I, 10 * u.ms, init=False, progress=False).spike_raster())


def test_progress_bar_reports_on_a_cached_call(capsys):
    m = lq.LIF(2)
    lq.simulate(m, 2 * u.mA, 20 * u.ms, progress=True)
    capsys.readouterr()
    lq.simulate(m, 2 * u.mA, 20 * u.ms, progress=True)
    err = capsys.readouterr().err
    assert "100%" in err and "200/200" in err
