"""lapicque.simulate: equals a hand-written step loop; decimation; spike modes; errors; memory."""

import numpy as np
import pytest
import saiunit as u
from _run import run
from registry import current as spiking_current

import lapicque as lq

DT = 0.1 * u.ms


def _hand_loop(model, currents_ma, batch_size=None, record=("V",)):
    return run(model, u.Quantity(np.asarray(currents_ma, np.float32), unit=u.mA), dt=DT, batch_size=batch_size,
               record=record)


# --------------------------------------------------------------------------
# simulate == hand-written loop
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["LIF", "ALIF", "AdExIFRef", "GifRef"])
def test_same_spikes_and_traces_as_hand_loop(name):
    n_steps, batch = 400, 2
    cls = lq.MODELS[name]
    states = tuple(cls._STATES)
    rng = np.random.default_rng(1)
    I = float(spiking_current(name).to_decimal(u.mA))
    currents = (I * rng.uniform(0.5, 1.5, size=(n_steps, batch, 3))).astype(np.float32)

    spk_ref, tr_ref = _hand_loop(cls(3), currents, batch_size=batch, record=states)
    res = lq.simulate(cls(3), u.Quantity(currents, unit=u.mA), n_steps * DT, DT, record=states, batch_size=batch)

    assert res.shape == (batch, 3)
    assert res.spike_raster().shape == (n_steps, batch, 3)
    assert res.spike_raster().dtype == bool
    assert res.spike_count.sum() > 5, "the case should spike"
    np.testing.assert_array_equal(res.spike_raster(), spk_ref > 0.5)
    for s in states:
        got = np.asarray(u.get_mantissa(res.traces[s]))
        np.testing.assert_allclose(got, tr_ref[s], rtol=1e-6, atol=1e-6, err_msg=s)
    # traces carry the model's units
    assert u.get_unit(res.traces["V"]) == u.mV
    np.testing.assert_allclose(np.asarray(res.times.to_decimal(u.ms)), (np.arange(n_steps) + 1) * 0.1, rtol=1e-6)


def test_current_constant_function_and_array_agree():
    n_steps = 300
    I = np.float32(2.0)
    t = np.arange(n_steps) * 0.1
    wave = (I * (t >= 5.0)).astype(np.float32)  # a step at 5 ms
    a = lq.simulate(lq.LIF(2), u.Quantity(np.repeat(wave[:, None], 2, 1), unit=u.mA), 30 * u.ms, record="V")
    b = lq.simulate(lq.LIF(2), lambda t: 2.0 * u.mA * (t >= 5 * u.ms), 30 * u.ms, record="V")
    c = lq.simulate(lq.LIF(2), u.Quantity(wave, unit=u.mA)[:, None], 30 * u.ms, record="V")
    np.testing.assert_array_equal(a.spike_raster(), b.spike_raster())
    np.testing.assert_array_equal(a.spike_raster(), c.spike_raster())
    np.testing.assert_allclose(a.traces["V"].to_decimal(u.mV), b.traces["V"].to_decimal(u.mV), atol=1e-6)
    # a constant equals the same value held over time
    d = lq.simulate(lq.LIF(2), 2.0 * u.mA, 30 * u.ms, record="V")
    e = lq.simulate(lq.LIF(2), u.Quantity(np.full((n_steps, 2), 2.0, np.float32), unit=u.mA), 30 * u.ms,
                    record="V")
    np.testing.assert_array_equal(d.spike_raster(), e.spike_raster())
    assert d.spike_count[0] > 0


def test_packed_and_boolean_spike_storage_agree_with_loop():
    # 100 neurons are stored as packed bits inside the loop, 3 neurons as bool
    n_steps = 200
    I = np.linspace(0.5, 4.0, 100, dtype=np.float32)
    spk_ref, _ = _hand_loop(lq.LIF(100), np.broadcast_to(I, (n_steps, 100)))
    res = lq.simulate(lq.LIF(100), u.Quantity(I, unit=u.mA), n_steps * DT)
    assert res._packed is not None
    np.testing.assert_array_equal(res.spike_raster(), spk_ref > 0.5)
    np.testing.assert_array_equal(res.spike_count, (spk_ref > 0.5).sum(0))


# --------------------------------------------------------------------------
# decimation
# --------------------------------------------------------------------------
@pytest.mark.parametrize("k", [7, 10])
def test_decimated_recording_is_every_kth_sample(k):
    n_steps = 100  # k = 7 leaves a remainder of 2 steps
    full = lq.simulate(lq.AdExIF(3), [20., 30., 40.] * u.mA, n_steps * DT, record=("V", "w"))
    dec = lq.simulate(lq.AdExIF(3), [20., 30., 40.] * u.mA, n_steps * DT, record=("V", "w"), record_every=k)
    for name in ("V", "w"):
        assert dec.traces[name].shape == (n_steps // k, 3)
        np.testing.assert_array_equal(np.asarray(dec.traces[name].mantissa),
                                      np.asarray(full.traces[name].mantissa)[k - 1::k])
    np.testing.assert_allclose(np.asarray(dec.trace_times.to_decimal(u.ms)),
                               np.asarray(full.times.to_decimal(u.ms))[k - 1::k], rtol=1e-6)
    # spikes are kept at every step, and the final state is the same
    np.testing.assert_array_equal(dec.spike_raster(), full.spike_raster())
    np.testing.assert_array_equal(np.asarray(dec.model.V.value.mantissa), np.asarray(full.model.V.value.mantissa))


def test_nothing_recorded_that_was_not_asked_for():
    res = lq.simulate(lq.AdExIF(2), 30 * u.mA, 10 * u.ms)
    assert res.traces == {}
    res = lq.simulate(lq.AdExIF(2), 30 * u.mA, 10 * u.ms, record=("spike", "w"))
    assert list(res.traces) == ["w"]


# --------------------------------------------------------------------------
# time convention, spike modes, continuation
# --------------------------------------------------------------------------
def test_spike_time_convention_step_i_is_reported_at_i_plus_one_dt():
    # LIF (R=1 ohm, tau=5 ms, V_th=1 mV) at 2 mA from rest crosses at tau*ln 2 = 3.466 ms,
    # i.e. at the end of step 34 (the 35th step): reported at 3.5 ms.
    res = lq.simulate(lq.LIF(1), 2 * u.mA, 5 * u.ms)
    first = np.nonzero(res.spike_raster()[:, 0])[0][0]
    assert first == 34
    assert float(res.spike_times[0][0].to_decimal(u.ms)) == pytest.approx(3.5)
    assert float(res.first_spike_time[0].to_decimal(u.ms)) == pytest.approx(3.5)
    res = lq.simulate(lq.LIF(1), 2 * u.mA, 5 * u.ms, t0=100 * u.ms)
    assert float(res.spike_times[0][0].to_decimal(u.ms)) == pytest.approx(103.5)


def test_count_mode_matches_dense():
    I = np.linspace(0., 5., 20, dtype=np.float32) * u.mA
    dense = lq.simulate(lq.LIFRef(20), I, 200 * u.ms)
    count = lq.simulate(lq.LIFRef(20), I, 200 * u.ms, spikes="count")
    np.testing.assert_array_equal(count.spike_count, dense.spike_count)
    np.testing.assert_allclose(count.first_spike_time.to_decimal(u.ms), dense.first_spike_time.to_decimal(u.ms))
    np.testing.assert_allclose(count.last_spike_time.to_decimal(u.ms), dense.last_spike_time.to_decimal(u.ms))
    np.testing.assert_allclose(count.rate.to_decimal(u.Hz), dense.rate.to_decimal(u.Hz))
    # count_from skips the first 50 ms
    late = lq.simulate(lq.LIFRef(20), I, 200 * u.ms, spikes="count", count_from=50 * u.ms)
    expected = np.array([(t.to_decimal(u.ms) > 50 + 1e-4).sum() for t in dense.spike_times])
    np.testing.assert_array_equal(late.spike_count, expected)
    with pytest.raises(ValueError, match="spikes='count'"):
        count.spike_raster()


def test_continuing_a_run_equals_one_long_run():
    model = lq.AdExIFRef(3)
    whole = lq.simulate(lq.AdExIFRef(3), [20., 30., 40.] * u.mA, 40 * u.ms, record="V")
    first = lq.simulate(model, [20., 30., 40.] * u.mA, 20 * u.ms, record="V")
    second = lq.simulate(model, [20., 30., 40.] * u.mA, 20 * u.ms, record="V", init=False, t0=first.t_end)
    np.testing.assert_array_equal(np.concatenate([first.spike_raster(), second.spike_raster()]), whole.spike_raster())
    np.testing.assert_allclose(np.concatenate([first.traces["V"].mantissa, second.traces["V"].mantissa]),
                               whole.traces["V"].mantissa, atol=1e-5)
    assert float(second.times[0].to_decimal(u.ms)) == pytest.approx(20.1)


def test_spike_events_and_times_are_consistent():
    res = lq.simulate(lq.LIF(70), np.linspace(1., 4., 70, dtype=np.float32) * u.mA, 30 * u.ms)
    times, neurons = res.spike_events
    assert times.shape == neurons.shape
    assert np.all(np.diff(np.asarray(times.mantissa)) >= 0)
    per_neuron = res.spike_times
    assert len(per_neuron) == 70
    assert sum(len(x) for x in per_neuron) == len(neurons) == res.spike_count.sum()
    for j in (10, 69):
        np.testing.assert_allclose(per_neuron[j].to_decimal(u.ms),
                                   np.asarray(times.to_decimal(u.ms))[neurons == j])


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------
def test_record_of_missing_variable_is_a_clear_error():
    with pytest.raises(ValueError, match=r"LIF has no state variable 'w'.*it has: V"):
        lq.simulate(lq.LIF(2), 2 * u.mA, 10 * u.ms, record=("V", "w"))
    with pytest.raises(ValueError, match="'V_th'"):  # a parameter, not a state, of LIF
        lq.simulate(lq.LIF(2), 2 * u.mA, 10 * u.ms, record="V_th")


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(duration=-5 * u.ms), ValueError, "duration must be > 0"),
    (dict(duration=0 * u.ms), ValueError, "duration must be > 0"),
    (dict(duration=5 * u.mV), TypeError, "duration must be a time"),
    (dict(duration=5.0), TypeError, "duration must be a time"),
    (dict(duration=1.05 * u.ms), ValueError, "whole number of time steps"),
    (dict(dt=-0.1 * u.ms), ValueError, "dt must be > 0"),
    (dict(current=2.0), TypeError, "current must be a quantity with units of current"),
    (dict(current=2.0 * u.mV), TypeError, "units of current"),
    (dict(current=np.ones(7) * u.mA), ValueError, "neither broadcasts"),
    (dict(record_every=0), ValueError, "record_every"),
    (dict(spikes="sparse"), ValueError, "spikes must be"),
    (dict(count_from=1 * u.ms), ValueError, "count_from only applies"),
])
def test_bad_arguments(kwargs, exc, match):
    args = dict(model=lq.LIF(2), current=2 * u.mA, duration=10 * u.ms)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        lq.simulate(**args)


def test_ambiguous_current_shape_must_be_told():
    # 100 steps and 100 neurons: one value per neuron, or per step?
    I = np.linspace(0., 3., 100, dtype=np.float32) * u.mA
    with pytest.raises(ValueError, match="time_varying"):
        lq.simulate(lq.LIF(100), I, 10 * u.ms)
    per_neuron = lq.simulate(lq.LIF(100), I, 10 * u.ms, time_varying=False)
    per_step = lq.simulate(lq.LIF(100), I, 10 * u.ms, time_varying=True)
    assert per_neuron.spike_count[0] == 0 and per_neuron.spike_count[-1] > 0
    assert len(set(per_step.spike_count.tolist())) == 1  # every neuron sees the same input


# --------------------------------------------------------------------------
# progress bar and scale
# --------------------------------------------------------------------------
def test_progress_bar_can_be_forced_and_turned_off(capsys):
    lq.simulate(lq.LIF(2), 2 * u.mA, 20 * u.ms, progress=True)
    err = capsys.readouterr().err
    assert "100%" in err and "200/200" in err
    lq.simulate(lq.LIF(2), 2 * u.mA, 20 * u.ms, progress=False)
    assert capsys.readouterr().err == ""
    lq.simulate(lq.LIF(2), 2 * u.mA, 20 * u.ms)  # short run: no bar by default
    assert capsys.readouterr().err == ""


def test_hundred_thousand_neurons_for_one_second_fit_in_memory():
    # 1e5 neurons x 1e4 steps: the spikes are kept as bits (125 MB), not 1 GB of bool / 4 GB of float.
    n = 100_000
    res = lq.simulate(lq.LIF(n, tau=10 * u.ms), np.linspace(0.5, 3., n, dtype=np.float32) * u.mA,
                      1000 * u.ms, progress=False)
    assert res.n_steps == 10_000
    assert res._packed is not None and res._packed.nbytes == 10_000 * n // 8
    counts = res.spike_count
    assert counts[0] == 0 and counts[-1] > 100
    # the LIF closed form for the strongest neuron: T = tau ln(RI / (RI - V_th)) -> 36 steps (soft reset ~)
    assert abs(counts[-1] - 1000 / (10 * np.log(3 / 2))) < 5
