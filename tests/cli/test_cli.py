"""The `lapicque` command: each sub-command on a small case, the error cases, and the demo end to end."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque.cli import CLIError, main, parse_quantity
from tolerances import OU_STATISTICS_ATOL

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_ok(path):
    path = Path(path)
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5000


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------
# quantities
# --------------------------------------------------------------------------
@pytest.mark.parametrize("text, kind, value, unit", [
    ("500pA", "current", 5e-7, u.mA),
    ("2mA", "current", 2.0, u.mA),
    ("1.5e-3A", "current", 1.5, u.mA),
    ("0.1ms", "time", 0.1, u.ms),
    ("2s", "time", 2000.0, u.ms),
    ("-65mV", "voltage", -65.0, u.mV),
    ("10Mohm", "resistance", 1e7, u.ohm),
    ("2nS", "conductance", 2e-9, u.siemens),
    ("0.07/mV", "inverse voltage", 0.07, u.mV ** -1),
    ("0.01/ms", "rate", 0.01, u.ms ** -1),
    ("10Hz", "rate", 0.01, u.ms ** -1),
    ("1 * mV^-1", "inverse voltage", 1.0, u.mV ** -1),
])
def test_parse_quantity(text, kind, value, unit):
    q = parse_quantity(text, kind)
    assert u.get_unit(q) == unit
    assert float(np.asarray(q.mantissa)) == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize("text, kind, match", [
    ("5mV", "time", "expected a time such as 10ms; got '5mV', which is a voltage"),
    ("5", "time", "has no unit"),
    ("abc", "current", "cannot read 'abc'"),
    ("5parsec", "time", "unknown unit"),
    ("1mV", "dimensionless", "plain number"),
])
def test_parse_quantity_errors(text, kind, match):
    with pytest.raises(CLIError, match=match):
        parse_quantity(text, kind, what=kind)


# --------------------------------------------------------------------------
# sub-commands
# --------------------------------------------------------------------------
def test_list(capsys):
    code, out, err = _cli(capsys, "list")
    assert code == 0 and err == ""
    for name in lq.MODELS:
        assert re.search(rf"^{name} -- ", out, re.M), name
    # parameters with defaults written as the command line reads them, and their kinds
    assert re.search(r"^\s+tau_ref\s+1\.7ms\s+time, >= 0$", out, re.M)
    assert re.search(r"^\s+c\s+0\.07/mV\s+inverse voltage", out, re.M)
    assert re.search(r"^\s+R1\s+0\s+dimensionless number$", out, re.M)
    assert re.search(r"^\s+V_initializer\s+-65mV\s+initial value \(voltage\)$", out, re.M)
    code, out, _ = _cli(capsys, "list", "gif")
    assert code == 0 and out.startswith("Gif -- ") and "GifRef" not in out


def test_list_shows_every_state(capsys):
    code, out, _ = _cli(capsys, "list", "LIFRef")
    assert code == 0
    states = re.search(r"^\s+states: (.*)$", out, re.M).group(1)
    for name in ("V (mV)", "last_spike_time (ms)", "ref_steps_left", "refractory (bool, with ref_var=True)"):
        assert name in states
    code, out, _ = _cli(capsys, "list", "AdExIF")
    assert re.search(r"^\s+states: V \(mV\), w \(mA\)$", out, re.M)


def test_run(capsys, tmp_path):
    png, js = tmp_path / "run.png", tmp_path / "run.json"
    code, out, err = _cli(capsys, "run", "LIFRef", "--set", "tau=10ms", "--set", "V_th=1.2mV", "--current", "2mA",
                          "--duration", "50ms", "--plot", str(png), "--json", str(js))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "LIFRef: 1 neuron, current 2mA (constant), 50ms at dt = 0.1ms"
    n_spikes = int(re.search(r"^spikes: (\d+)$", out, re.M).group(1))
    rate = float(re.search(r"^rate: ([\d.]+) Hz$", out, re.M).group(1))
    assert n_spikes > 0 and rate == pytest.approx(n_spikes / 0.05, rel=1e-3)
    first = re.search(r"^spike times \(neuron 0\): ([\d.]+) ms", out, re.M)
    # first crossing of 1.2 mV at 2 mA with tau = 10 ms: 10 ln(2 / 0.8) = 9.16 ms -> 9.2 ms
    assert first.group(1) == "9.2"
    assert _png_ok(png)
    data = json.loads(js.read_text())
    assert data["model"] == "LIFRef" and data["spike_count"] == n_spikes
    # every parameter actually used, not only the overrides, and the versions
    assert data["parameters"] == {"R": "1ohm", "tau": "10ms", "tau_ref": "5ms", "V_th": "1.2mV", "V_reset": "0mV",
                                  "V_rest": "0mV", "spk_reset": "soft", "ref_var": False}
    assert data["overrides"] == ["tau", "V_th"]
    assert {"python", "lapicque", "jax", "brainstate", "braintools", "saiunit"} <= set(data["versions"])
    assert data["spike_times_ms"][0][0] == 9.2


def test_run_population_with_current_range(capsys, tmp_path):
    png = tmp_path / "pop.png"
    code, out, err = _cli(capsys, "run", "AdExIF", "--current", "0mA:40mA", "--n", "8", "--duration", "40ms",
                          "--dt", "0.05ms", "--plot", str(png))
    assert code == 0, err
    assert "AdExIF: 8 neurons" in out and "per neuron" in out and "Hz mean" in out
    assert _png_ok(png)


def test_fi(capsys, tmp_path):
    png, js = tmp_path / "fi.png", tmp_path / "fi.json"
    code, out, err = _cli(capsys, "fi", "LIF", "--from", "0mA", "--to", "4mA", "--steps", "5", "--duration",
                          "100ms", "--set", "spk_reset=hard", "--plot", str(png), "--json", str(js))
    assert code == 0, err
    rows = re.findall(r"^\s+([\d.]+)\s+([\d.]+)$", out, re.M)
    assert [float(i) for i, _ in rows] == [0., 1., 2., 3., 4.]
    rates = [float(r) for _, r in rows]
    # LIF (tau 5 ms, V_th 1 mV, R 1 ohm): silent up to 1 mA, then 1 / (tau ln(I / (I - 1))) on the dt grid
    assert rates[:2] == [0., 0.]
    assert rates[2] == pytest.approx(1e3 / 3.5, rel=1e-3)
    assert "fires from 2 mA on" in out
    assert _png_ok(png)
    data = json.loads(js.read_text())
    assert data["currents_mA"] == [0., 1., 2., 3., 4.] and len(data["rates_Hz"]) == 5


# --------------------------------------------------------------------------
# bad arguments: one line, exit code 2, no traceback
# --------------------------------------------------------------------------
@pytest.mark.parametrize("argv, match", [
    (["run", "Hodgkin", "--current", "1mA"], "unknown model 'Hodgkin'; choose from IF, LIF"),
    (["run", "LIF", "--set", "tau_w=10ms", "--current", "1mA"], "LIF has no parameter 'tau_w'"),
    (["run", "LIF", "--set", "tau=10mV", "--current", "1mA"], "tau: expected a time such as 10ms"),
    (["run", "LIF", "--current", "1mV"], "--current: expected a current"),
    (["run", "LIF", "--current", "1mA", "--duration", "-5ms"], "--duration must be > 0"),
    (["run", "LIF", "--current", "1mA", "--duration", "0.05ms"], "shorter than one time step"),
    (["run", "LIF", "--current", "1mA", "--n", "0"], "argument --n: expected a whole number from 1 to"),
    (["run", "LIF", "--set", "tau=-1ms", "--current", "1mA"], "tau"),
    (["run", "LIF", "--set", "V_reset=2mV", "--current", "1mA"], "V_th must be larger than V_reset"),
    (["run", "LIF", "--set", "tau", "--current", "1mA"], "NAME=VALUE"),
    (["run", "LIF"], "--current"),
    (["fi", "LIF", "--from", "0mA", "--to", "1mV"], "--to: expected a current"),
    (["fi", "LIF", "--from", "0mA", "--to", "1mA", "--steps", "0"], "argument --steps: expected a whole number"),
    (["fi", "LIF", "--from", "0mA", "--to", "1mA", "--duration", "-1s"], "--duration must be > 0"),
    (["frobnicate"], "invalid choice"),
    ([], None),
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, match):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err + out
    if match is not None:
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("lapicque: error: ")
        assert match in err


def test_module_entry_point_fails_cleanly():
    # `python -m lapicque.cli` is the same program; a bad value is one line on stderr and exit status 2
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    bad = subprocess.run([sys.executable, "-m", "lapicque.cli", "run", "LIF", "--current", "2mA", "--duration",
                          "-10ms"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "lapicque: error: --duration must be > 0; got '-10ms'"
    assert bad.stdout == ""


# --------------------------------------------------------------------------
# the demo, end to end (reduced size)
# --------------------------------------------------------------------------
def test_demo_quick_writes_every_figure(capsys, tmp_path):
    from lapicque.report import Section
    out_dir = tmp_path / "demo"
    code, out, err = _cli(capsys, "demo", "--out", str(out_dir), "--quick")
    assert code == 0, err
    promised = (["conventions.png", "fi_curves.png", "fi_overlay.png", "guard.png", "raster.png",
                 "patterns_adex.png", "patterns_gif.png", "network.png"] + [f"trace_{name}.png" for name in lq.MODELS])
    index = (out_dir / "index.html").read_text()
    for fname in promised:
        assert _png_ok(out_dir / fname), fname
        assert f'src="{fname}"' in index
    # the data of every figure is linked beside it and loads
    links = re.findall(r'<img src="([^"]+)".*?<a class="data" href="([^"]+)">', index, re.S)
    assert sorted(png for png, _ in links) == sorted(promised)
    for png, npz in links:
        with np.load(out_dir / npz) as data:
            assert len(data.files) > 0, npz
    assert index.count("<figcaption>") == len(promised)
    assert str(out_dir.resolve()) in out and "index.html" in out
    # the per-pattern classification tables: 8 AdEx patterns and 20 Gif behaviours, all confirmed
    pat_tables = re.findall(r'<table class="pat">(.*?)</table>', index, re.S)
    assert [t.count("<tr>") for t in pat_tables] == [1 + 8, 1 + 20]
    assert "&#10008;" not in index
    # conventions, the IF/LIF note, every model's equation and parameters, the guard, the versions
    assert "R = 1 &Omega;" in index and "83.33 Mohm" in index and "60 pA" in index
    assert "IF and LIF obey the same equation" in index
    assert index.count('class="eq"') == len(lq.MODELS)
    assert re.search(r"reaches V = [\d.]+e\+23 mV", index)
    for pkg in ("python", "jax", "brainstate", "braintools", "saiunit", "lapicque"):
        assert f"<td>{pkg}</td>" in index
    # the E/I network page: both populations fire, irregularly
    assert "E/I network" in index
    with np.load(out_dir / "network.npz") as net:
        assert net["rate_E_Hz"].mean() > 5 and net["rate_I_Hz"].mean() > 5
        assert np.isfinite(net["isi_cv"]).sum() > 100
    with np.load(out_dir / "fi_curves.npz") as fi:
        assert fi["rates_Hz"].shape == (13, fi["currents_mA"].size)
        # LIF rheobase (V_th - V_rest) / R = 1 mA, resolved to the fine grid of the sweep
        lif = list(fi["models"]).index("LIF")
        assert 1.0 < fi["rheobase_mA"][lif] <= 1.0 + 0.25 + 1e-6


def test_report_takes_extra_sections(tmp_path, monkeypatch):
    from lapicque import report
    # the hook only: every built-in section is stubbed (they are covered by the demo test)
    monkeypatch.setattr(report, "_run_model", lambda name, quick: (None, None, np.zeros(1), np.zeros(1), 1.0))
    for name in ("_conventions", "_guard_section", "_population_section", "_versions_section"):
        monkeypatch.setattr(report, name, lambda *a, _n=name: report.Section(_n))
    for name in ("_fi_section", "_models_section"):
        monkeypatch.setattr(report, name, lambda ctx, runs, _n=name: report.Section(_n))
    monkeypatch.setattr(report, "_pattern_sections", lambda ctx: [])
    seen = []

    def network(ctx):
        seen.append(ctx.out)
        return report.Section("Network", "<p>spiking network</p>")

    files = report.run_demo(str(tmp_path), quick=True, log=lambda m: None, extra_sections=[network])
    page = open(files[-1]).read()
    assert seen == [str(tmp_path)]
    assert '<h2 id="network">Network</h2><p>spiking network</p>' in page
    assert page.index("Network</h2>") < page.index("_versions_section</h2>")  # before the versions
    assert report._readable(83.3e6 * u.ohm) == "83.3 Mohm" and report._readable(2e-9 * u.siemens) == "2 nS"
    assert report._readable(1.0 * u.siemens) == "1 S"


# --------------------------------------------------------------------------
# --version, --help without JAX
# --------------------------------------------------------------------------
def test_version(capsys):
    code, out, _ = _cli(capsys, "--version")
    assert code == 0 and out.strip() == f"lapicque {lq.__version__}"


def test_help_imports_only_the_standard_library():
    """`lapicque --help` (the package and the command module) answers without importing JAX, saiunit, brainstate or
    NumPy: the package's names load lazily and the command imports the simulator only in the commands that run."""
    res = subprocess.run([sys.executable, str(ROOT / "tests" / "cli" / "_help_probe.py")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "usage: lapicque run" in res.stdout, res.stderr[-2000:]
    loaded = [x for x in res.stdout.splitlines() if x.startswith("LOADED")][-1].split()[1:]
    assert loaded == []


# --------------------------------------------------------------------------
# input protocols
# --------------------------------------------------------------------------
def _times(out):
    line = re.search(r"^spike times \(neuron 0\): (.*)$", out, re.M).group(1)
    return [float(x) for x in re.findall(r"([\d.]+) ms", line.split(", ...")[0])]


def test_step_protocol_latency_matches_the_closed_form(capsys):
    # LIF (tau 5 ms, V_th 1 mV) from rest, 2 mA on at 20 ms: crosses at 20 + 5 ln 2 = 23.47 ms -> step 234 -> 23.5
    code, out, err = _cli(capsys, "run", "LIF", "--current", "2mA", "--input", "step", "--start", "20ms",
                          "--stop", "30ms", "--duration", "60ms")
    assert code == 0, err
    t = _times(out)
    assert t[0] == pytest.approx(20 + 5 * np.log(2), abs=0.1) and t[0] == 23.5
    assert all(20 < x <= 30.05 for x in t)  # nothing after the step ends


def test_pulse_train_fires_once_per_strong_pulse(capsys):
    # 1 ms pulses of 20 mA every 10 ms from 5 ms to 95 ms: 9 pulses, each drives V across 1 mV once
    code, out, err = _cli(capsys, "run", "LIFRef", "--current", "20mA", "--input", "pulses", "--start", "5ms",
                          "--stop", "95ms", "--width", "1ms", "--period", "10ms", "--duration", "100ms")
    assert code == 0, err
    t = _times(out)
    assert len(t) == 9
    np.testing.assert_allclose(np.diff(t), 10.0, atol=1e-9)


def test_ramp_and_sine_follow_their_formulas():
    from lapicque._cli.protocols import Protocol
    t = np.arange(0, 100, 0.5)
    ramp = Protocol("ramp", start_ms=20, stop_ms=60, offset=0.5).values(t, [2.0], 100.0, 0.5)[:, 0]
    expect = np.where((t >= 20) & (t < 60), 0.5 + 2.0 * (t - 20) / 40, 0.5)
    np.testing.assert_allclose(ramp, expect, atol=1e-12)
    sine = Protocol("sine", start_ms=10, freq_hz=25).values(t, [3.0, 1.0], 100.0, 0.5)
    expect = np.where(t >= 10, np.sin(2 * np.pi * 25e-3 * (t - 10)), 0.0)
    np.testing.assert_allclose(sine, np.stack([3 * expect, expect], 1), atol=1e-12)


def test_sine_drives_the_neuron_at_its_frequency(capsys):
    # 25 Hz, 3 mA on LIF: at most one spike per cycle, all in the positive half-cycles
    code, out, err = _cli(capsys, "run", "LIF", "--current", "3mA", "--input", "sine", "--freq", "25Hz",
                          "--duration", "200ms")
    assert code == 0, err
    t = np.array(_times(out))
    phase = np.mod(t, 40.0)
    assert t.size >= 5 and np.all(phase <= 20.0 + 5.0)  # spikes lag the input by at most a few ms


def test_ou_noise_is_seeded_and_has_the_requested_statistics(capsys, tmp_path):
    from lapicque._cli.protocols import Protocol
    p = Protocol("ou", sigma=1.0, tau_ms=5.0, seed=3)
    x = p.ou_noise(20000, 40, 0.1)
    assert np.var(x) == pytest.approx(1.0, abs=OU_STATISTICS_ATOL)
    lag = 50  # 5 ms: the autocorrelation is e^-1
    r = np.mean(x[lag:] * x[:-lag]) / np.var(x)
    assert r == pytest.approx(np.exp(-1.0), abs=OU_STATISTICS_ATOL)
    argv = ["run", "LIF", "--current", "0.8mA", "--input", "ou", "--sigma", "0.5mA", "--n", "3",
            "--duration", "100ms"]
    outs = [_cli(capsys, *argv, "--seed", "7")[1] for _ in range(2)]
    assert outs[0] == outs[1]
    assert _cli(capsys, *argv, "--seed", "8")[1] != outs[0]
    code, _, err = _cli(capsys, "run", "LIF", "--current", "1mA", "--input", "ou")
    assert code == 2 and "--sigma" in err


# --------------------------------------------------------------------------
# recording, saving, configuration, printing
# --------------------------------------------------------------------------
def test_record_and_out_npz(capsys, tmp_path):
    path = tmp_path / "res.npz"
    code, out, err = _cli(capsys, "run", "AdExIF", "--current", "10mA:30mA", "--n", "3", "--duration", "50ms",
                          "--record", "V,w", "--record-every", "5", "--out", str(path), "--input", "step",
                          "--start", "10ms", "--seed", "1")
    assert code == 0, err and f"wrote {path}" in out
    res = lq.SimulationResult.load(path)
    assert set(res.traces) == {"V", "w"} and res.traces["w"].shape == (100, 3)
    assert res.traces["V"].unit == u.mV and res.traces["w"].unit == u.mA
    assert res.meta["input"] == "step" and res.meta["start_ms"] == 10.0 and res.meta["seed"] == 1
    np.testing.assert_allclose(res.model.b.to_decimal(u.mA), lq.AdExIF(1).b.to_decimal(u.mA))
    counts = re.search(r"spikes: (\d+) in total", out).group(1)
    assert int(res.spike_count.sum()) == int(counts)


def test_out_csv_for_small_runs(capsys, tmp_path):
    path = tmp_path / "res.csv"
    code, out, err = _cli(capsys, "run", "LIF", "--current", "2mA", "--n", "2", "--duration", "20ms", "--record",
                          "V", "--out", str(path))
    assert code == 0, err
    rows = path.read_text().splitlines()
    assert rows[0] == "time_ms,V_mV[0],V_mV[1]" and len(rows) == 201
    assert rows[1].startswith("0.1,")
    spikes = (tmp_path / "res.spikes.csv").read_text().splitlines()
    assert spikes[0] == "time_ms,neuron" and spikes[1] == "3.5,0" and spikes[2] == "3.5,1"


@pytest.mark.parametrize("argv, match", [
    (["run", "LIF", "--current", "1mA", "--record", "w"], "--record: LIF has no state 'w'; it has: V"),
    (["run", "LIF", "--current", "1mA", "--out", "x.txt"], "--out"),
    (["run", "LIF", "--current", "1mA", "--input", "pulses", "--width", "20ms"], "--width must be > 0 and <="),
    (["run", "LIF", "--current", "1mA", "--input", "step", "--start", "300ms"], "--start"),
    (["run", "LIF", "--current", "1mA", "--input", "sine", "--freq", "3mV"], "--freq: expected a rate"),
    (["run", "--current", "1mA"], "give a model"),
])
def test_bad_run_options(capsys, argv, match):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1


def test_config_file_equals_the_flags(capsys, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('model = "AdExIF"\nn = 2\ncurrent = "20mA:30mA"\nduration = "40ms"\ninput = "ramp"\n'
                   'start = "5ms"\nrecord = ["V", "w"]\n[set]\ntau_w = "50ms"\nspk_reset = "hard"\n')
    code, from_file, err = _cli(capsys, "run", "--config", str(cfg), "--json", str(tmp_path / "a.json"))
    assert code == 0, err
    code, from_flags, err = _cli(capsys, "run", "AdExIF", "--n", "2", "--current", "20mA:30mA", "--duration",
                                 "40ms", "--input", "ramp", "--start", "5ms", "--record", "V,w", "--set",
                                 "tau_w=50ms", "--set", "spk_reset=hard", "--json", str(tmp_path / "b.json"))
    assert code == 0, err
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert a == b and from_file.replace("a.json", "b.json") == from_flags
    assert a["parameters"]["tau_w"] == "50ms" and a["protocol"]["input"] == "ramp"
    # flags win over the file
    code, out, _ = _cli(capsys, "run", "--config", str(cfg), "--duration", "20ms")
    assert "20ms at dt" in out
    cfg.write_text('model = "LIF"\ncurrnt = "1mA"\n')
    code, _, err = _cli(capsys, "run", "--config", str(cfg))
    assert code == 2 and "unknown key 'currnt'" in err


def test_spike_times_are_printed_at_dt_resolution(capsys):
    # at dt = 0.025 ms the float32 times carry noise (e.g. 20.700001); the printout is on the grid
    code, out, _ = _cli(capsys, "run", "LIF", "--set", "tau=10ms", "--current", "1.7mA", "--dt", "0.025ms",
                        "--duration", "60ms")
    for text in re.search(r"^spike times \(neuron 0\): (.*)$", out, re.M).group(1).split(", "):
        assert re.fullmatch(r"\d+\.\d{3} ms", text), text
        assert float(text[:-3]) / 0.025 == pytest.approx(round(float(text[:-3]) / 0.025), abs=1e-9)


def test_progress_default_follows_the_terminal(monkeypatch):
    from lapicque.cli import _progress, build_parser
    args = build_parser().parse_args(["run", "LIF", "--current", "1mA"])
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert _progress(args, 10 ** 6, 10 ** 4) is False
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert _progress(args, 10 ** 6, 10 ** 4) is None  # the simulator shows a bar for long runs
    assert _progress(build_parser().parse_args(["run", "LIF", "--current", "1mA", "--no-progress"]), 1, 1) is False
    assert _progress(build_parser().parse_args(["run", "LIF", "--current", "1mA", "--progress"]), 1, 1) is True


def test_patterns_command(capsys, tmp_path):
    code, out, _ = _cli(capsys, "patterns")
    assert code == 0 and "tonic" in out and "adex" in out and "gif" in out
    png = tmp_path / "tonic.png"
    code, out, err = _cli(capsys, "patterns", "tonic", "--plot", str(png))
    assert code == 0, err
    assert "tonic spiking" in out and "confirmed" in out and "NOT" not in out
    assert _png_ok(png)
    code, _, err = _cli(capsys, "patterns", "nonesuch")
    assert code == 2 and "no pattern 'nonesuch'" in err


def test_guard_figure_without_brainpy_uses_the_stored_reference(tmp_path, monkeypatch):
    from lapicque import report
    measure = report._reference_expif
    monkeypatch.setattr(report, "_reference_expif", lambda n: None)
    ctx = report.Context(out=str(tmp_path), quick=True, log=lambda m: None, dpi=60)
    fig = report._guard_section(ctx).figures[0]
    assert "stored numbers" in fig.caption and "reaches V = 4.95e+23 mV at t = 21.7 ms" in fig.caption
    with np.load(tmp_path / fig.data) as data:
        assert data["V_reference_mV"].max() > 1e23
        assert data["V_lapicque_mV"].max() <= -30.0  # never past the cut-off V_th of ExpIF's defaults
    # with brainpy.state installed (the test extra) the same numbers are measured live
    pytest.importorskip("brainpy")
    live = measure(300)
    # the blow-up amplifies float32 rounding: 4.945e23 (brainpy 2.8.2, jax 0.10) vs 4.950e23 (brainpy 2.9, jax 0.12)
    assert live.max() == pytest.approx(report.REFERENCE_EXPIF_6MA["peak_mV"], rel=1e-2)
    np.testing.assert_allclose(live[::10], report.REFERENCE_EXPIF_6MA["V_mV"], rtol=1e-2)
