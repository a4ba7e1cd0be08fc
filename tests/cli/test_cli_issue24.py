"""Issue 24 on the command line: what a Brian2 or NEST user trips over.

* ``lapicque run LIF --current 500pA`` (the default R = 1 ohm) and a physiological ``V_rest`` with ``V`` starting
  at 0 mV print a ``lapicque: warning:`` line saying why and what to change; a sound run prints none;
* ``--preset`` gives published parameters, ``lapicque presets`` lists them, and ``lapicque list`` shows them;
* ``lapicque list`` answers from static data without importing JAX (fast as ``--help``), and its data equal
  what the model classes say (``python -m lapicque._cli.catalog`` writes it again after a model changes);
* the columns of ``lapicque patterns`` are aligned.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lapicque as lq
from lapicque._cli.common import OTHER_MODELS
from lapicque.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _spikes(out):
    return int(re.search(r"^spikes: (\d+)", out, re.M).group(1))


# --------------------------------------------------------------------------
# warnings before a silent or spurious run
# --------------------------------------------------------------------------
def test_a_current_in_pA_with_the_default_R_warns(capsys):
    code, out, err = _cli(capsys, "run", "LIF", "--current", "500pA", "--duration", "10ms", "--no-progress")
    assert code == 0 and _spikes(out) == 0
    lines = [x for x in err.splitlines() if x.startswith("lapicque: warning:")]
    assert len(lines) == 1, err  # once, as the command line says it (not also as a Python warning)
    assert "R = 1 ohm" in lines[0] and "--current 1mA" in lines[0] and "--preset brette2007" in lines[0]
    assert "--set R=100Mohm" in lines[0]


def test_a_start_above_threshold_warns(capsys):
    code, out, err = _cli(capsys, "run", "LIF", "--current", "2mA", "--set", "V_rest=-70mV", "--set", "V_th=-50mV",
                          "--set", "V_reset=-70mV", "--duration", "2ms", "--no-progress")
    assert code == 0 and _times_of(out)[:2] == [0.1, 0.2]  # the spurious spikes the warning explains
    assert err.count("lapicque: warning:") == 1, err
    assert "V starts at 0 mV" in err and "--set V_initializer=-70mV" in err
    # the remedy it gives works: no spike in the first steps, and no warning
    code, out, err = _cli(capsys, "run", "LIF", "--current", "2mA", "--set", "V_rest=-70mV", "--set", "V_th=-50mV",
                          "--set", "V_reset=-70mV", "--set", "V_initializer=-70mV", "--duration", "2ms",
                          "--no-progress")
    assert code == 0 and err == "" and _spikes(out) == 0


def _times_of(out):
    line = re.search(r"^spike times \(neuron 0\): (.*)$", out, re.M).group(1)
    return [float(x) for x in re.findall(r"([\d.]+) ms", line)]


def test_a_sound_run_and_a_zero_current_do_not_warn(capsys):
    for current in ("2mA", "0mA"):
        code, _, err = _cli(capsys, "run", "LIF", "--current", current, "--duration", "5ms", "--no-progress")
        assert code == 0 and err == "", err


def test_fi_warns_with_its_own_option(capsys):
    code, _, err = _cli(capsys, "fi", "LIF", "--from", "0pA", "--to", "500pA", "--steps", "2", "--duration", "5ms",
                        "--no-progress")
    assert code == 0 and err.count("lapicque: warning: fi:") == 1 and "--to 1mA" in err, err


# --------------------------------------------------------------------------
# presets
# --------------------------------------------------------------------------
def test_preset_run_fires_at_the_published_rate(capsys, tmp_path):
    # brette2007: LIFRef in pA and MOhm; 1 / (5 ms + 20 ms ln 2) = 53 Hz at 200 pA
    out_json = tmp_path / "run.json"
    code, out, err = _cli(capsys, "run", "--preset", "brette2007", "--current", "200pA", "--duration", "1s",
                          "--json", str(out_json), "--no-progress")
    assert code == 0 and err == "", err
    assert out.startswith("LIFRef: 1 neuron") and _spikes(out) == 53
    import json
    summary = json.loads(out_json.read_text())
    assert summary["preset"] == "brette2007" and summary["parameters"]["R"] == "1e+08ohm"


def test_preset_gives_the_model_and_the_current(capsys):
    # naud2008:adaptation without --current: the published step of 500 pA; the intervals lengthen
    code, out, err = _cli(capsys, "run", "--preset", "naud2008:adaptation", "--duration", "300ms", "--no-progress")
    assert code == 0 and err == "", err
    assert out.startswith("AdExIF: 1 neuron, current 500pA")
    t = _times_of(out)
    assert len(t) >= 4 and t[3] - t[2] > t[1] - t[0]


def test_preset_with_another_model_and_set_overrides(capsys):
    code, out, err = _cli(capsys, "run", "LIF", "--preset", "brette2007", "--set", "tau=10ms", "--current",
                          "200pA", "--duration", "100ms", "--json", os.devnull, "--no-progress")
    assert code == 0 and err == "" and out.startswith("LIF: 1 neuron") and _spikes(out) > 0


@pytest.mark.parametrize("argv, match", [
    (["run", "--preset", "brette2006"], r"--preset: no preset 'brette2006'; choose from brette2007, "),
    (["run", "LIF", "--preset", "naud2008", "--current", "1nA"], r"naud2008 is for AdExIF or AdExIFRef"),
    (["run", "--preset", "naud2008:nonesuch"], r"no pattern 'nonesuch'"),
    (["run", "--preset", "brette2007:tonic"], r"has no patterns"),
    (["run", "--preset", "mihalas2009:E"], r"changes over time; give --current"),
])
def test_preset_errors(capsys, argv, match):
    code, _, err = _cli(capsys, *argv)
    assert code == 2 and re.search(match, err), err
    assert len(err.strip().splitlines()) == 1


def test_presets_command_and_list_show_them(capsys):
    code, out, err = _cli(capsys, "presets")
    assert code == 0 and err == ""
    for name in lq.presets.PRESETS:
        assert re.search(rf"^{name} -- ", out, re.M), name
    assert "R=100Mohm, tau=20ms, tau_ref=5ms, V_rest=-60mV" in out
    code, out, _ = _cli(capsys, "presets", "naud2008")
    assert code == 0 and out.startswith("naud2008 -- ") and "brette2007" not in out
    code, _, err = _cli(capsys, "presets", "nonesuch")
    assert code == 2 and "--preset: no preset 'nonesuch'; choose from brette2007" in err
    code, out, _ = _cli(capsys, "list")
    for name in lq.presets.PRESETS:
        assert f"--preset {name}" in out, name
    code, out, _ = _cli(capsys, "list", "AdExIF")
    assert re.search(r"^presets: brette2005, naud2008 ", out, re.M), out


# --------------------------------------------------------------------------
# list: static, fast, and true
# --------------------------------------------------------------------------
LIST_PROBE = """
import sys, time
t = time.perf_counter()
import lapicque.cli
lapicque.cli.main(["list"])
print("ELAPSED", time.perf_counter() - t)
print("LOADED", " ".join(sorted(m for m in ("jax", "jaxlib", "saiunit", "brainstate", "numpy") if m in sys.modules)))
"""


def test_list_imports_only_the_standard_library():
    """It took 7.6 s (JAX and every model built to read its states); now it reads static data, as --help does."""
    res = subprocess.run([sys.executable, "-c", LIST_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.splitlines()
    assert [x for x in lines if x.startswith("LOADED")][-1].split()[1:] == []
    assert float([x for x in lines if x.startswith("ELAPSED")][-1].split()[1]) < 3.0  # it took 7.6 s; --help takes 0.2 s
    assert sum(1 for x in lines if re.match(r"^\w+ -- ", x)) == len(lq.MODELS) + len(OTHER_MODELS)


def test_list_data_equal_the_models():
    """The static data are what the classes say; if not: python -m lapicque._cli.catalog writes them again."""
    from lapicque._cli import catalog
    live = catalog.live()
    assert list(live) == list(catalog.MODELS), "run `python -m lapicque._cli.catalog` (the models changed)"
    for name in live:
        assert live[name] == catalog.MODELS[name], f"{name}: run `python -m lapicque._cli.catalog`"


def test_list_unknown_model(capsys):
    code, _, err = _cli(capsys, "list", "Nope")
    assert code == 2 and "unknown model 'Nope'; choose from IF, LIF" in err


# --------------------------------------------------------------------------
# patterns: aligned columns
# --------------------------------------------------------------------------
def test_patterns_columns_are_aligned(capsys):
    code, out, _ = _cli(capsys, "patterns")
    rows = [x for x in out.splitlines() if x.startswith("  ")]
    assert len(rows) == 28
    # the key column starts at one place, the name column at another, in every row
    key_at = {len(r) - len(r[2:].split(maxsplit=1)[1]) for r in rows}
    name_at = {len(r) - len(r[2:].split(maxsplit=2)[2]) for r in rows}
    assert len(key_at) == 1 and len(name_at) == 1, out
