"""The command runs the other neurons too (HH & co., Izhikevich, FitzHugh-Nagumo ...), each in its own input unit.

``lapicque.MODELS`` holds the 13 integrate-and-fire models and stays so; the command's table is
``MODELS`` + :data:`lapicque._cli.common.OTHER_MODELS`.  ``--current`` (``--offset``, ``--sigma``,
``fi --from/--to``) is read in the model's ``input_unit``: uA for HH, mV/ms for Izhikevich, a plain
number for FitzHugh-Nagumo; another unit is refused naming the one expected.  Before, every one of
these commands said ``unknown model``.
"""

import json
import re

import pytest

import lapicque as lq
from lapicque._cli.common import OTHER_MODELS
from lapicque.cli import main


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _spikes(out: str) -> int:
    return int(re.search(r"^spikes: (\d+)", out, re.M).group(1))


def test_the_table_is_models_and_the_others():
    from lapicque._cli import catalog, values as cv
    assert len(lq.MODELS) == 13 and not set(OTHER_MODELS) & set(lq.MODELS)  # MODELS itself is unchanged
    assert list(cv.models()) == list(lq.MODELS) + list(OTHER_MODELS) == list(catalog.MODELS)
    for name in OTHER_MODELS:
        assert cv.models()[name] is getattr(lq, name)


@pytest.mark.parametrize("name, unit", [("HH", "uA"), ("WangBuzsakiHH", "uA"), ("MorrisLecar", "uA"),
                                        ("Izhikevich", "mV/ms"), ("IzhikevichRef", "mV/ms"),
                                        ("FitzHughNagumo", ""), ("HindmarshRose", ""), ("CubaLIF", "mA"),
                                        ("CobaLIF", "mA"), ("LIF", "mA")])
def test_input_unit_from_the_model(name, unit):
    """The catalog's input unit is the class's public input_unit, as the command line writes it."""
    from lapicque._cli import catalog, values as cv
    cls = getattr(lq, name)
    expected = "" if cls(1).input_unit is None else str(cls(1).input_unit).replace(" ", "")
    assert unit == expected == cv.input_spec(cls).unit == catalog.MODELS[name]["input"]["unit"]


def test_list_shows_the_other_models_and_their_input(capsys):
    code, out, err = _cli(capsys, "list")
    assert code == 0 and err == ""
    for name in OTHER_MODELS:
        assert re.search(rf"^{name} -- ", out, re.M), name
    assert out.startswith(f"{len(lq.MODELS) + len(OTHER_MODELS)} models: 13 integrate-and-fire models, then HH")
    code, out, _ = _cli(capsys, "list", "HH")
    assert code == 0 and out.startswith("HH -- Hodgkin-Huxley")
    assert "input (--current): in uA (a current), e.g. 10uA" in out
    assert re.search(r"^\s+V_initializer\s+random\s+initial value \(voltage\); drawn from Uniform", out, re.M)
    code, out, _ = _cli(capsys, "list", "izhikevich")
    assert "input (--current): in mV/ms (a voltage per time), e.g. 10mV/ms" in out
    assert re.search(r"^\s+d\s+8mV/ms\s+voltage per time$", out, re.M)
    code, out, _ = _cli(capsys, "list", "FitzHughNagumo")
    assert "input (--current): as a plain number (it is dimensionless), e.g. 0.5" in out


@pytest.mark.parametrize("argv, header, spikes", [
    (["run", "Izhikevich", "--current", "10mV/ms", "--duration", "100ms"],
     "Izhikevich: 1 neuron, input 10mV/ms (constant), 100ms at dt = 0.1ms", 2),
    (["run", "HH", "--current", "10uA", "--dt", "0.01ms", "--duration", "50ms"],
     "HH: 1 neuron, current 10uA (constant), 50ms at dt = 0.01ms", 4),
    (["run", "FitzHughNagumo", "--current", "0.5", "--duration", "100ms"],
     "FitzHughNagumo: 1 neuron, input 0.5 (constant), 100ms at dt = 0.1ms", 3),
    (["run", "HindmarshRose", "--current", "3", "--input", "step", "--start", "50ms", "--offset", "0.1",
      "--duration", "100ms"], "HindmarshRose: 1 neuron, input 3 (step)", 8),
    (["run", "CubaLIF", "--current", "2mA", "--duration", "20ms"], "CubaLIF: 1 neuron, current 2mA", 5),
])
def test_run_in_the_models_unit(capsys, argv, header, spikes):
    code, out, err = _cli(capsys, *argv)
    assert code == 0, err
    assert "lapicque: warning" not in err
    assert out.startswith(header) and _spikes(out) == spikes, out


@pytest.mark.parametrize("argv, fragments", [
    (["run", "Izhikevich", "--current", "10mA"],
     ["--current: Izhikevich takes its input in mV/ms", "e.g. --current 10mV/ms", "got '10mA', which is a current"]),
    (["run", "Izhikevich", "--current", "10"], ["in mV/ms", "got '10', a plain number"]),
    (["run", "HH", "--current", "10mV/ms"], ["--current: HH takes its input in uA (a current)", "e.g. --current 10uA"]),
    (["run", "FitzHughNagumo", "--current", "0.5mA"],
     ["FitzHughNagumo takes its input as a plain number", "e.g. --current 0.5", "got '0.5mA'"]),
    (["run", "Izhikevich", "--current", "0mV/ms:20mA", "--n", "3"], ["--current: Izhikevich", "got '20mA'"]),
    (["run", "Izhikevich", "--current", "10mV/ms", "--offset", "1mA"], ["--offset: Izhikevich", "--offset 10mV/ms"]),
    (["run", "FitzHughNagumo", "--current", "0.5", "--input", "ou", "--sigma", "0.1mA"], ["--sigma: FitzHughNagumo"]),
    (["fi", "HH", "--from", "0mV/ms", "--to", "20uA"], ["--from: HH takes its input in uA"]),
    (["fi", "Izhikevich", "--from", "0mA", "--to", "20mV/ms"],
     ["--from: Izhikevich takes its input in mV/ms", "e.g. --from 10mV/ms", "got '0mA', which is a current"]),
    (["fi", "HindmarshRose", "--from", "0", "--to", "3uA"], ["--to: HindmarshRose takes its input as a plain number"]),
])
def test_wrong_unit_names_the_expected_one(capsys, argv, fragments):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("lapicque: error: "), err
    for f in fragments:
        assert f in err, (f, err)


def test_run_random_initial_values_are_seeded(capsys, tmp_path):
    """HH draws V at random: --seed (default 0) draws it, so a command repeats; said in the output."""
    argv = ["run", "HH", "--current", "0uA:20uA", "--n", "4", "--dt", "0.02ms", "--duration", "30ms",
            "--json", str(tmp_path / "a.json"), "--plot", str(tmp_path / "a.png")]
    code, out, err = _cli(capsys, *argv)
    assert code == 0, err
    assert "V_initializer: drawn from Uniform(low=-70. mV, high=-60. mV) with --seed 0" in out
    a = json.loads((tmp_path / "a.json").read_text())
    assert _cli(capsys, *argv)[0] == 0
    assert json.loads((tmp_path / "a.json").read_text())["spike_times_ms"] == a["spike_times_ms"]
    assert a["input_unit"] == "uA" and a["initial_values_seed"] == 0 and a["spike_counts"][0] == 0
    assert sum(a["spike_counts"]) > 0 and (tmp_path / "a.png").stat().st_size > 0


def test_run_plot_leaves_out_the_bookkeeping(capsys, tmp_path):
    """HH's 'crossed' (last step's spike) is not a variable to plot; the gates are."""
    from lapicque.cli import _record_arg
    assert _record_arg(None, lq.HH(1), plot=True) == ("V", "m", "h", "n")
    assert _record_arg(None, lq.IzhikevichRef(1), plot=True) == ("V", "u")
    code, out, err = _cli(capsys, "run", "Izhikevich", "--current", "10mV/ms", "--duration", "50ms",
                          "--plot", str(tmp_path / "iz.png"), "--json", str(tmp_path / "iz.json"))
    assert code == 0, err
    summary = json.loads((tmp_path / "iz.json").read_text())
    assert summary["parameters"]["d"] == "8mV/ms" and summary["protocol"] == {"input": "constant",
                                                                            "offset_mV_per_ms": 0.0}


def test_set_a_voltage_rate_parameter(capsys):
    code, out, err = _cli(capsys, "run", "Izhikevich", "--set", "d=2mV/ms", "--current", "10mV/ms",
                          "--duration", "100ms")
    assert code == 0, err
    assert _spikes(out) == 3  # 2 with the default d = 8mV/ms (test_run_in_the_models_unit)


def test_fi_with_a_current_input(capsys, tmp_path):
    code, out, err = _cli(capsys, "fi", "HH", "--from", "0uA", "--to", "20uA", "--steps", "3", "--dt", "0.02ms",
                          "--duration", "100ms", "--json", str(tmp_path / "fi.json"))
    assert code == 0, err
    assert "current (uA)" in out and re.search(r"^\s+20\s+\d", out, re.M), out
    data = json.loads((tmp_path / "fi.json").read_text())
    assert data["currents_mA"] == pytest.approx([0.0, 0.01, 0.02]) and data["input_unit"] == "uA"
    assert data["rates_Hz"][0] == 0 and data["rates_Hz"][2] > data["rates_Hz"][1] > 0


@pytest.mark.parametrize("argv, header, table, fires", [
    (["fi", "Izhikevich", "--from", "0mV/ms", "--to", "20mV/ms", "--steps", "3", "--duration", "200ms"],
     "Izhikevich: f-I curve, 3 inputs from 0mV/ms to 20mV/ms, 200ms each at dt = 0.1ms", " input (mV/ms)",
     "fires from 10 mV/ms on"),
    (["fi", "IzhikevichRef", "--from", "0mV/ms", "--to", "20mV/ms", "--steps", "3", "--duration", "200ms"],
     "IzhikevichRef: f-I curve, 3 inputs", " input (mV/ms)", "fires from 10 mV/ms on"),
    (["fi", "FitzHughNagumo", "--from", "0", "--to", "1", "--steps", "3", "--duration", "300ms"],
     "FitzHughNagumo: f-I curve, 3 inputs from 0 to 1, 300ms each", " input (plain)", "fires from 0.5 on"),
    (["fi", "HindmarshRose", "--from", "0", "--to", "3", "--steps", "2", "--duration", "300ms"],
     "HindmarshRose: f-I curve, 2 inputs from 0 to 3", " input (plain)", "fires from 3 on"),
])
def test_fi_in_the_models_unit(capsys, argv, header, table, fires):
    """fi runs the models whose input is not a current, the table in the model's unit (before: refused)."""
    code, out, err = _cli(capsys, *argv)
    assert code == 0, err
    assert "lapicque: warning" not in err
    lines = out.splitlines()
    assert lines[0].startswith(header) and lines[1].startswith(table) and lines[-1].startswith(fires), out
    assert re.match(r"^\s+0\s+0$", lines[2]), out  # no input, no spikes


def test_fi_json_and_plot_in_the_models_unit(capsys, tmp_path):
    """The rates equal lapicque.simulate's (method 'isi' of analysis.fi_curve); the JSON names the inputs' unit."""
    import numpy as np
    import saiunit as u
    from lapicque import analysis
    code, out, err = _cli(capsys, "fi", "Izhikevich", "--from", "0mV/ms", "--to", "20mV/ms", "--steps", "3",
                          "--duration", "200ms", "--json", str(tmp_path / "iz.json"),
                          "--plot", str(tmp_path / "iz.png"))
    assert code == 0, err
    data = json.loads((tmp_path / "iz.json").read_text())
    assert data["inputs_mV_per_ms"] == [0.0, 10.0, 20.0] and data["input_unit"] == "mV/ms"
    assert "currents_mA" not in data and (tmp_path / "iz.png").stat().st_size > 0
    expected = analysis.fi_curve(lq.Izhikevich, [0., 10., 20.] * (u.mV / u.ms), 200 * u.ms)
    np.testing.assert_allclose(data["rates_Hz"], np.asarray(expected.to_decimal(u.Hz)), rtol=1e-6)
    code, out, err = _cli(capsys, "fi", "FitzHughNagumo", "--from", "0", "--to", "1", "--steps", "2",
                          "--duration", "300ms", "--json", str(tmp_path / "fhn.json"))
    assert code == 0, err
    data = json.loads((tmp_path / "fhn.json").read_text())
    assert data["inputs"] == [0.0, 1.0] and data["input_unit"] == "" and data["rates_Hz"][1] > 0
