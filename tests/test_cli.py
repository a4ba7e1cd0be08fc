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

ROOT = Path(__file__).absolute().parent.parent
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


def test_run(capsys, tmp_path):
    png, js = tmp_path / "run.png", tmp_path / "run.json"
    code, out, err = _cli(capsys, "run", "LIFRef", "--set", "tau=10ms", "--set", "V_th=1.2mV", "--current", "2mA",
                          "--duration", "50ms", "--plot", str(png), "--json", str(js))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "LIFRef: 1 neuron, current 2mA, 50ms at dt = 0.1ms"
    n_spikes = int(re.search(r"^spikes: (\d+)$", out, re.M).group(1))
    rate = float(re.search(r"^rate: ([\d.]+) Hz$", out, re.M).group(1))
    assert n_spikes > 0 and rate == pytest.approx(n_spikes / 0.05, rel=1e-3)
    first = re.search(r"^first spike times \(neuron 0\): ([\d.]+) ms", out, re.M)
    # first crossing of 1.2 mV at 2 mA with tau = 10 ms: 10 ln(2 / 0.8) = 9.16 ms -> 9.2 ms
    assert float(first.group(1)) == pytest.approx(9.2)
    assert _png_ok(png)
    data = json.loads(js.read_text())
    assert data["model"] == "LIFRef" and data["spike_count"] == n_spikes
    assert data["parameters"] == {"tau": "10ms", "V_th": "1.2mV"}
    assert data["spike_times_ms"][0][0] == pytest.approx(9.2)


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
    (["run", "LIF", "--current", "1mA", "--n", "0"], "--n must be >= 1"),
    (["run", "LIF", "--set", "tau=-1ms", "--current", "1mA"], "tau"),
    (["run", "LIF", "--set", "V_reset=2mV", "--current", "1mA"], "V_th must be larger than V_reset"),
    (["run", "LIF", "--set", "tau", "--current", "1mA"], "NAME=VALUE"),
    (["run", "LIF"], "--current"),
    (["fi", "LIF", "--from", "0mA", "--to", "1mV"], "--to: expected a current"),
    (["fi", "LIF", "--from", "0mA", "--to", "1mA", "--steps", "0"], "--steps must be >= 1"),
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
    out_dir = tmp_path / "demo"
    code, out, err = _cli(capsys, "demo", "--out", str(out_dir), "--quick")
    assert code == 0, err
    promised = (["fi_curves.png", "raster.png", "patterns_adex.png", "patterns_gif.png"]
                + [f"trace_{name}.png" for name in lq.MODELS])
    for fname in promised:
        assert _png_ok(out_dir / fname), fname
    index = (out_dir / "index.html").read_text()
    for fname in promised:
        assert f'src="{fname}"' in index
    assert index.count("<figcaption>") == len(promised)
    assert str(out_dir.resolve()) in out and "index.html" in out
    # the per-pattern classification tables: 8 AdEx patterns and 20 Gif behaviours, all confirmed
    assert index.count("<tr>") == 2 + 8 + 20
    assert "&#10008;" not in index
