"""Smoke test of the benchmark suite: ``python -m benchmarks`` exits 0, prints and writes its tables.

No timing is asserted, only the outcome a user sees: the exit status, the printed tables with their
columns and one row per case, the Markdown and JSON files; and that bad arguments stop the command
with a non-zero status and a message naming what is wrong.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # benchmarks/ is a folder of the checkout, not an installed package

import benchmarks.__main__ as benchmarks_main  # noqa: E402

FORWARD_HEADER = ("| model | N | T | spikes stored as | lapicque | brainpy.state | lapicque/brainpy "
                  "| ratio by CPU time | lapicque 1st call (s) | brainpy 1st call (s) | lapicque 2nd call (s) "
                  "| brainpy 2nd call (s) "
                  "| lapicque compile~ (s) | brainpy compile~ (s) | lapicque rate (Hz) | brainpy rate (Hz) "
                  "| load avg (1 min) |")
OTHER_HEADER = ("| model | N | T | implementation | updates/s | lapicque (same run) | lapicque/impl "
                "| ratio by CPU time | 1st call (s) | 2nd call (s) | rate (Hz) | note |")


def test_quick_suite_exits_0_prints_and_writes_its_tables(tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if "PYTHONPATH" in os.environ
                                                         else []))}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--models", "LIF", "--sizes", "200", "--steps", "50",
         "--repeats", "1", "--sections", "forward", "--peers", "none", "--stores", "float,bool",
         "--out", str(tmp_path), "--stem", "smoke"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "== 1. forward throughput" in out
    # the printed tables: their columns, one row per spike store, and lapicque.simulate's row
    assert "### 1. Forward simulation throughput (neuron-updates/s), lapicque vs brainpy.state" in out
    assert FORWARD_HEADER in out and OTHER_HEADER in out
    assert "| LIF | 200 | 50 | float |" in out and "| LIF | 200 | 50 | bool |" in out
    assert "| LIF | 200 | 50 | lapicque.simulate |" in out
    assert f"wrote {tmp_path / 'smoke.md'} and {tmp_path / 'smoke.json'}" in out

    md = (tmp_path / "smoke.md").read_text()
    assert "1. Forward simulation throughput" in md and FORWARD_HEADER in md
    assert "| LIF | 200 | 50 | float |" in md and "| LIF | 200 | 50 | bool |" in md

    data = json.loads((tmp_path / "smoke.json").read_text())
    forward = data["tables"]["forward"]
    assert forward["columns"][:5] == ["model", "N", "T", "store", "lapicque"]
    rows = forward["rows"]
    assert sorted(r["store"] for r in rows) == ["bool", "float"]
    for r in rows:
        assert r["model"] == "LIF" and r["N"] == 200 and r["T"] == 50
        assert r["lapicque"] > 0
    other = data["tables"]["forward_other"]["rows"]
    assert [(r["model"], r["impl"]) for r in other] == [("LIF", "lapicque.simulate")] and other[0]["rate"] > 0
    assert data["machine"]["jax"]


def test_steps_are_capped_at_large_n():
    from benchmarks.suite import MAX_ELEMS, steps_for

    assert steps_for(1000, 1000) == 1000
    assert steps_for(10 ** 6, 1000) * 10 ** 6 <= MAX_ELEMS


@pytest.mark.parametrize("argv, message", [
    (["--models", "NoSuchModel", "--sections", "forward"], "unknown model(s) ['NoSuchModel']; choose from"),
    (["--models", "LIF", "--sections", "nosuchsection"], "unknown section(s) ['nosuchsection']; choose from"),
])
def test_cli_rejects_unknown_names_with_exit_status_1(monkeypatch, argv, message):
    # the command sets thread-limit variables for its own process: keep them out of the test session
    monkeypatch.setattr(os, "environ", dict(os.environ))
    with pytest.raises(SystemExit) as stop:
        benchmarks_main.main(argv)
    # sys.exit(<message>) prints the message and exits with status 1; exit status 0 or None would be a success
    assert isinstance(stop.value.code, str) and stop.value.code.startswith(message), stop.value.code


def test_cli_rejects_a_malformed_value_with_exit_status_2(capsys):
    with pytest.raises(SystemExit) as stop:
        benchmarks_main.parse_args(["--steps", "many"])
    assert stop.value.code == 2  # argparse's usage error
    assert "--steps: invalid int value: 'many'" in capsys.readouterr().err
