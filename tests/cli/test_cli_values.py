"""Every value of the `lapicque` command and of its TOML files is checked by name, before anything runs.

Each bad value goes through ``main()`` as a user types it and must give exit status 2, one line
``lapicque: error: ...`` naming the option (or TOML key) and what it accepts, and print nothing on
stdout (nothing was simulated).  Then: printing neuron 0 of a large population does no work per
spike beyond one comparison, and ``--plot`` of a population does not record every neuron's trace.
"""

import re
import tracemalloc

import numpy as np
import pytest

import lapicque as lq
import lapicque._engine.simulate
from lapicque._cli import values as cv
from lapicque.cli import RASTER_ROWS, main

#: the CLI's own bytes per spike allowed while printing neuron 0's spike times (the result's
#: counts and spike events are computed before measuring): one boolean per spike for the
#: neuron-0 mask, plus the per-neuron rate array (8 bytes/neuron, <= 8/14 bytes per spike at
#: 14 spikes per neuron), with 2x margin -> 3 bytes.  Splitting every neuron's spikes (the old
#: way) needs an int64 sort order, float64 times and one array view per neuron: > 24 bytes.
PRINT_BYTES_PER_SPIKE = 3.0


def _run(capsys, argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _refused(capsys, argv, fragments, absent=()):
    code, out, err = _run(capsys, argv)
    assert code == 2, (code, out, err)
    assert out == "", out  # refused before the run: nothing simulated, nothing printed
    assert len(err.strip().splitlines()) == 1 and err.startswith("lapicque: error: "), err
    assert "Traceback" not in err and "LAPICQUE_DEBUG" not in err, err
    for f in fragments:
        assert f in err, (f, err)
    for f in absent:
        assert f not in err, (f, err)


RUN = ["run", "LIF", "--current", "2mA"]
FI = ["fi", "LIF", "--from", "0mA", "--to", "1mA"]

# (command line, fragments the one-line message must hold)
BAD_FLAGS = [
    # issue 25, item 9
    (RUN + ["--duration", "1e30ms"], ["--duration 1e+30 ms at --dt 0.1 ms is 1e+31 steps",
                                       "at most 2147483647 steps"]),
    (RUN + ["--dt", "1e-300ms"], ["--dt must be at least 1.18e-38 ms", "float32", "'1e-300ms'"]),
    (RUN + ["--duration", "1e12ms"], ["is 1e+13 steps", "at most 2147483647 steps"]),
    (RUN + ["--seed", "-5"], ["argument --seed: expected a whole number >= 0; got '-5'"]),
    (RUN + ["--seed", "-5", "--input", "ou", "--sigma", "1mA"], ["--seed", "whole number >= 0", "'-5'"]),
    (RUN + ["--freq", "-5Hz"], ["--freq must be > 0; got '-5Hz'"]),
    (RUN + ["--freq", "-5Hz", "--input", "sine"], ["--freq must be > 0; got '-5Hz'"]),
    # the same holes in the other options
    (RUN + ["--dt", "1e39ms"], ["--dt must be at most 3.4e+38 ms", "'1e39ms'"]),
    (RUN + ["--duration", "1e-39ms", "--dt", "1e-40ms"], ["--duration must be at least 1.18e-38 ms"]),
    (RUN + ["--n", "1e20"], ["argument --n: expected a whole number from 1 to 2147483647; got '1e20'"]),
    (RUN + ["--n", "2.5"], ["argument --n", "whole number", "'2.5'"]),
    (RUN + ["--n", "-3"], ["argument --n", "from 1 to", "'-3'"]),
    (RUN + ["--record", "V", "--record-every", "0"], ["argument --record-every", ">= 1", "'0'"]),
    (RUN + ["--record", "V", "--record-every", "21", "--duration", "2ms"],
     ["--record-every must be from 1 to the number of steps (20); got 21"]),
    (["run", "LIF", "--current", "1e300mA"], ["--current must be at most 3.4e+38 mA", "'1e300mA'"]),
    (["run", "LIF", "--current", "1mA:1e300mA", "--n", "3"], ["--current must be at most", "'1e300mA'"]),
    (RUN + ["--offset", "-1e300mA"], ["--offset must be at most 3.4e+38 mA in magnitude", "'-1e300mA'"]),
    (RUN + ["--set", "V_initializer=1e300mV"], ["V_initializer must be at most 3.4e+38 mV", "'1e300mV'"]),
    (RUN + ["--input", "step", "--stop", "-5ms"], ["--stop must be > 0; got '-5ms'"], ["--start"]),
    (RUN + ["--stop", "-5ms"], ["--stop must be > 0"], ["--start"]),
    (RUN + ["--start", "-1ms", "--input", "step"], ["--start must be >= 0; got '-1ms'"]),
    (RUN + ["--input", "pulses", "--width", "-1ms"], ["--width must be > 0; got '-1ms'"]),
    (RUN + ["--width", "0ms"], ["--width must be > 0; got '0ms'"]),
    (RUN + ["--input", "pulses", "--period", "-10ms"], ["--period must be > 0"]),
    (RUN + ["--input", "ou", "--sigma", "-1mA"], ["--sigma must be >= 0; got '-1mA'"]),
    (RUN + ["--input", "ou", "--sigma", "1mA", "--tau-noise", "-1ms"], ["--tau-noise must be > 0"]),
    (RUN + ["--out", "run.txt", "--duration", "2ms"], ["--out: the file name must end in .npz or .csv"]),
    (RUN + ["--n", "3000", "--record", "V", "--out", "run.csv"],
     ["--out: 6000000 values are too many for CSV (at most 2000000); save as .npz"]),
    (FI + ["--duration", "1e30ms"], ["--duration 1e+30 ms at --dt 0.1 ms is 1e+31 steps"]),
    (FI + ["--dt", "1e-300ms"], ["--dt must be at least 1.18e-38 ms"]),
    (FI + ["--steps", "1e13"], ["argument --steps: expected a whole number from 1 to 2147483647"]),
    (FI + ["--transient", "-5ms"], ["--transient must be >= 0"]),
    (["fi", "LIF", "--from", "0mA", "--to", "1e300mA"], ["--to must be at most 3.4e+38 mA"]),
]


@pytest.mark.parametrize("case", BAD_FLAGS, ids=[" ".join(c[0][1:]) for c in BAD_FLAGS])
def test_a_bad_option_is_refused_by_name(capsys, case):
    argv, fragments, *absent = case  # a third entry: fragments the message must not hold
    _refused(capsys, argv, fragments, *absent)


# (TOML text, extra command-line arguments, fragments)
BAD_TOML = [
    # issue 25, item 9
    ('model = 5\ncurrent = "2mA"', [], ["'model' in", "must be a model name in quotes", "got 5"]),
    ('n = 1e20\ncurrent = "2mA"', ["LIF"], ["argument --n: expected a whole number from 1 to 2147483647",
                                           "'1e+20'"]),
    ('n = 100000000000000000000\ncurrent = "2mA"', ["LIF"], ["argument --n", "from 1 to 2147483647"]),
    ('progress = "yes"\ncurrent = "2mA"', ["LIF"], ["'progress' in", "must be true or false", 'got "yes"']),
    # the same holes in the other keys
    ('model = ["LIF"]', ["--current", "2mA"], ["'model' in", 'got ["LIF"]']),
    ("n = 2.5", RUN[1:], ["argument --n", "'2.5'"]),
    ("n = true", RUN[1:], ["'n' in", "must be a whole number", "got true"]),
    ("n = nan", RUN[1:], ["argument --n", "'nan'"]),
    ("seed = -5", RUN[1:], ["argument --seed", ">= 0", "'-5'"]),
    ("progress = 1", RUN[1:], ["'progress' in", "true or false", "got 1"]),
    ('current = ["1mA", "2mA"]', ["LIF"], ["'current' in", 'must be a value in quotes, e.g. current = "500pA"']),
    ("plot = true", RUN[1:], ["'plot' in", "must be a value in quotes", "got true"]),
    ("duration = 1979-05-27", RUN[1:], ["'duration' in", 'e.g. duration = "200ms"', "got 1979-05-27"]),
    ("duration = {a = 1}", RUN[1:], ["'duration' in", "got {a = 1}"]),
    ('record = ["V", 3]', RUN[1:], ["'record' in", 'got ["V", 3]']),
    ('freq = "-5Hz"', RUN[1:], ["--freq must be > 0; got '-5Hz'"]),
    ('duration = "1e12ms"', RUN[1:], ["1e+13 steps", "at most 2147483647"]),
    ("set = 5", RUN[1:], ["'set' in", "must be a table", "got 5"]),
    ("[set]\ntau = [1]", RUN[1:], ["'set' in", "tau must be a value such as", "got [1]"]),
]


@pytest.mark.parametrize("text, argv, fragments", BAD_TOML, ids=[c[0].splitlines()[0] for c in BAD_TOML])
def test_a_bad_toml_value_is_refused_by_name(capsys, tmp_path, text, argv, fragments):
    cfg = tmp_path / "run.toml"
    cfg.write_text(text + "\n")
    # the message must not blame another parameter ('R' for n = 1e20, as it did) or raise a raw error
    _refused(capsys, ["run", "--config", str(cfg)] + argv, fragments, ["'R'", "TypeError"])


def test_memory_a_run_cannot_have_is_refused_with_the_figure(capsys, monkeypatch):
    # 10^5 neurons over 10^8 steps keep 1.25 TB of spike bits: refused before the run, with the figures
    monkeypatch.setattr(cv, "_physical_memory", lambda: 16 * 10 ** 9)
    _refused(capsys, RUN + ["--n", "100000", "--duration", "1e7ms"],
             ["run: --n 100000 over 100000000 steps needs at least 1.25 TB of memory",
              "the spike record (1 bit per neuron and step): 1.25 TB", "this machine has 16 GB"])
    _refused(capsys, RUN + ["--n", "1000", "--duration", "1e5ms", "--record", "V", "--input", "ou", "--sigma",
                            "1mA"], ["needs at least 32.1 GB", "1 recorded trace(s): 4 GB",
                                     "the noise input (--input ou): 28 GB", "a larger --record-every"])
    _refused(capsys, FI + ["--steps", "2e9"], ["fi: --steps 2000000000 needs at least 128 GB"])


def test_values_in_range_still_run(capsys, tmp_path):
    # whole numbers in floating-point notation, negative values glued to their option, a TOML float count
    code, out, err = _run(capsys, RUN + ["--n", "2e0", "--duration", "5ms", "--offset", "-0.5mA", "--seed", "0"])
    assert code == 0, err
    assert out.startswith("LIF: 2 neurons, current 2mA (constant), 5ms at dt = 0.1ms")
    cfg = tmp_path / "run.toml"
    cfg.write_text('model = "LIF"\nn = 3.0\ncurrent = "2mA"\nduration = "5ms"\nprogress = false\n')
    code, out, err = _run(capsys, ["run", "--config", str(cfg)])
    assert code == 0 and out.startswith("LIF: 3 neurons"), err


def test_as_many_neurons_as_steps_is_not_ambiguous(capsys):
    # --n 20 over 20 steps: a (20,) current is one value per neuron, not per step (was a raw ValueError)
    code, out, err = _run(capsys, ["run", "LIF", "--current", "1mA:3mA", "--n", "20", "--duration", "2ms",
                                   "--set", "tau=1ms"])
    assert code == 0, err
    # neuron 0 at 1 mA stays below V_th = 1 mV (V = 1 - e^{-t/tau}); neuron 19 at 3 mA fires
    assert out.startswith("LIF: 20 neurons") and "spike times (neuron 0): none" in out
    assert re.search(r"spikes: [1-9]\d* in total, 0\.\.[1-9]\d* per neuron", out)


# --------------------------------------------------------------------------
# item 11: print neuron 0 without splitting every neuron's spikes
# --------------------------------------------------------------------------
def test_printing_neuron_0_costs_no_work_per_spike_of_the_others(capsys, monkeypatch):
    n = 200_000
    real_simulate = lapicque._engine.simulate.simulate
    kept = {}

    def simulate(*args, **kwargs):
        res = real_simulate(*args, **kwargs)
        res.spike_count, res.spike_steps  # the result's own work (counts are printed), done before measuring
        kept["res"] = res
        tracemalloc.start()
        return res

    monkeypatch.setattr(lapicque._engine.simulate, "simulate", simulate)
    try:
        code, out, err = _run(capsys, ["run", "LIF", "--n", str(n), "--current", "2mA", "--duration", "50ms"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0, err
    res = kept["res"]
    n_spikes = int(res.spike_count.sum())
    assert n_spikes == 14 * n  # LIF at 2 mA: one spike every 3.5 ms
    assert peak < PRINT_BYTES_PER_SPIKE * n_spikes, (peak, n_spikes)
    # and the printed times are neuron 0's, by the result's own spike_times
    expected = ", ".join(f"{t:.1f} ms" for t in np.asarray(res.spike_times[0].mantissa)[:10])
    assert f"spike times (neuron 0): {expected}, ... (14 in all)" in out


def test_spike_times_of_one_neuron_equal_the_results_own():
    import saiunit as u
    res = lq.simulate(lq.LIF(5), np.array([0.5, 1.2, 2.0, 3.0, 1.6], np.float32) * u.mA, 40 * u.ms)
    every = cv.spike_times_ms(res)
    for i in range(5):
        ref = np.asarray(res.spike_times[i].to_decimal(u.ms), np.float64)
        np.testing.assert_allclose(every[i], ref, atol=1e-4)  # float32 times against the exact grid
        np.testing.assert_array_equal(cv.spike_times_ms(res, i), every[i])
        np.testing.assert_array_equal(cv.spike_times_ms(res, i, first=2), every[i][:2])
    assert every[0].size == 0 and every[3].size > every[2].size > every[4].size > every[1].size > 0


# --------------------------------------------------------------------------
# --plot of a population: one neuron's trace, not every neuron's
# --------------------------------------------------------------------------
def test_plot_of_a_population_records_no_trace_of_every_neuron(capsys, tmp_path, monkeypatch):
    import lapicque.plot as lplot
    drawn = {}
    real_raster, real_voltage = lplot.raster, lplot.voltage

    def raster(res, *a, neurons=None, **k):
        drawn["rows"] = neurons
        return real_raster(res, *a, neurons=neurons, **k)

    def voltage(res, neuron=0, *a, **k):
        drawn["trace"] = np.asarray(res.traces["V"].mantissa)[:, neuron].copy()
        return real_voltage(res, neuron, *a, **k)

    monkeypatch.setattr(lplot, "raster", raster)
    monkeypatch.setattr(lplot, "voltage", voltage)
    n = RASTER_ROWS + 500
    path, png = tmp_path / "pop.npz", tmp_path / "pop.png"
    argv = ["run", "AdExIF", "--current", "0mA:40mA", "--n", str(n), "--duration", "20ms", "--input", "ou",
            "--sigma", "5mA", "--seed", "3"]
    code, out, err = _run(capsys, argv + ["--plot", str(png), "--out", str(path)])
    assert code == 0, err
    saved = lq.SimulationResult.load(path)
    assert saved.traces == {}  # the population recorded what --record asked: nothing
    rows = drawn["rows"]
    assert len(rows) == RASTER_ROWS and rows[0] == 0 and rows[-1] == n - 1
    # the plotted trace, from neuron n-1 run alone, is neuron n-1's in the population (same noise column)
    code, out, err = _run(capsys, argv + ["--record", "V", "--out", str(path)])
    assert code == 0, err
    pop = lq.SimulationResult.load(path)
    np.testing.assert_array_equal(drawn["trace"], np.asarray(pop.traces["V"].mantissa)[:, n - 1])
