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


# -- kernels per step (benchmarks/hlo_kernels.py) and the network tables (benchmarks/network.py) --------------------
#: an optimized-HLO text in XLA's format: an outer loop whose body runs an inner (per-step) loop
HLO_NESTED = """HloModule jit_run, entry_computation_layout={()->f32[8]{0}}

%fused_computation (param_0: f32[8]) -> f32[8] {
  %param_0 = f32[8]{0} parameter(0)
  ROOT %add.1 = f32[8]{0} add(%param_0, %param_0)
}

%step_body (arg_tuple: (s32[], f32[8])) -> (s32[], f32[8]) {
  %arg_tuple = (s32[], f32[8]{0}) parameter(0)
  %get-tuple-element.1 = f32[8]{0} get-tuple-element(%arg_tuple), index=1
  %get-tuple-element.2 = s32[] get-tuple-element(%arg_tuple), index=0
  %constant.1 = s32[] constant(1)
  %bitcast.1 = f32[8]{0} bitcast(%get-tuple-element.1)
  %add_fusion = f32[8]{0} fusion(%bitcast.1), kind=kLoop, calls=%fused_computation
  %add_fusion.1 = f32[8]{0} fusion(%add_fusion), kind=kLoop, calls=%fused_computation
  %ffi_call.3 = f32[8]{0} custom-call(%add_fusion.1), custom_call_target="lapicque_event_csr_matvec"
  %copy.2 = f32[8]{0} copy(%ffi_call.3)
  %sort.1 = f32[8]{0} sort(%copy.2), dimensions={0}, to_apply=%fused_computation
  %wrapped_add = s32[] fusion(%get-tuple-element.2, %constant.1), kind=kLoop, calls=%fused_computation
  ROOT %tuple.1 = (s32[], f32[8]{0}) tuple(%wrapped_add, %sort.1)
}

%step_cond (arg: (s32[], f32[8])) -> pred[] {
  %arg = (s32[], f32[8]{0}) parameter(0)
  %gte = s32[] get-tuple-element(%arg), index=0
  %c = s32[] constant(10)
  ROOT %lt = pred[] compare(%gte, %c), direction=LT
}

%outer_body (arg_tuple.1: (s32[], f32[8])) -> (s32[], f32[8]) {
  %arg_tuple.1 = (s32[], f32[8]{0}) parameter(0)
  %fusion.9 = f32[8]{0} fusion(%arg_tuple.1), kind=kLoop, calls=%fused_computation
  %fusion.10 = f32[8]{0} fusion(%arg_tuple.1), kind=kLoop, calls=%fused_computation
  %fusion.11 = f32[8]{0} fusion(%arg_tuple.1), kind=kLoop, calls=%fused_computation
  %fusion.12 = f32[8]{0} fusion(%arg_tuple.1), kind=kLoop, calls=%fused_computation
  %fusion.13 = f32[8]{0} fusion(%arg_tuple.1), kind=kLoop, calls=%fused_computation
  %fusion.14 = f32[8]{0} fusion(%arg_tuple.1), kind=kLoop, calls=%fused_computation
  %fusion.15 = f32[8]{0} fusion(%arg_tuple.1), kind=kLoop, calls=%fused_computation
  %fusion.16 = f32[8]{0} fusion(%arg_tuple.1), kind=kLoop, calls=%fused_computation
  ROOT %while.1 = (s32[], f32[8]{0}) while(%arg_tuple.1), condition=%step_cond, body=%step_body
}

ENTRY %main (p: f32[8]) -> f32[8] {
  %p = f32[8]{0} parameter(0)
  %t = (s32[], f32[8]{0}) tuple(%p, %p)
  %while.2 = (s32[], f32[8]{0}) while(%t), condition=%step_cond, body=%outer_body
  ROOT %gte.9 = f32[8]{0} get-tuple-element(%while.2), index=1
}
"""


def test_step_kernels_are_counted_in_the_innermost_loop_body():
    from benchmarks.hlo_kernels import count_step_kernels, describe

    k = count_step_kernels(HLO_NESTED)
    assert k["body"] == "step_body"  # not the outer loop's body (which has more thunks)
    # 3 fusions (two add fusions + the counter), 1 custom call, 1 copy, 1 sort; parameter, get-tuple-element,
    # constant, bitcast and tuple launch nothing
    assert (k["total"], k["fusions"], k["custom_calls"], k["copies"], k["other"]) == (6, 3, 1, 1, 1)
    assert k["custom_call_targets"] == {"lapicque_event_csr_matvec": 1} and k["other_ops"] == {"sort": 1}
    assert k["fusion_names"] == {"add_fusion": 2, "wrapped_add": 1}
    assert describe(k).startswith("6 (3 fusions, 1 custom calls [lapicque_event_csr_matvec x1], 1 copies")


def test_step_kernels_of_a_compiled_jax_loop():
    import jax
    import jax.numpy as jnp
    from benchmarks.hlo_kernels import count_step_kernels

    def body(c, _):
        return jnp.sort(c) * 2. + 1., None

    text = jax.jit(lambda x: jax.lax.scan(body, x, None, length=7)[0]).lower(jnp.ones(64)).compile().as_text()
    k = count_step_kernels(text)
    assert k["other_ops"].get("sort") == 1 and k["fusions"] >= 1 and k["total"] == sum(
        k[key] for key in ("fusions", "custom_calls", "copies", "other"))
    with pytest.raises(ValueError, match="no while loop"):
        count_step_kernels(jax.jit(lambda x: x + 1).lower(jnp.ones(3)).compile().as_text())


def test_network_tables_compare_script_rows_with_brainpy_and_the_rest_with_simulate():
    from benchmarks import network as NW
    from benchmarks._common import Table

    res = {"lapicque": dict(run_s=0.2, cpu_s=0.2, build_s=1., first_s=3., rates=[20., 21.]),
           "brainpy": dict(run_s=2.0, cpu_s=1.8, build_s=1., first_s=5., rates=[20.2, 20.9]),
           "lapicque-script": dict(run_s=0.5, cpu_s=0.6, build_s=1., first_s=2., rates=[19.9, 21.1]),
           "loop-floor": dict(run_s=0.1, cpu_s=0.1, build_s=1., first_s=1., rates=None),
           "annarchy": dict(run_s=0.4, cpu_s=0.3, build_s=1., first_s=60., rates=[30., 21.])}
    med = NW.agreement(res)  # the floor has no rates and does not vote
    assert med == [20.1, 21.0] and "counts" not in res["loop-floor"]
    assert res["lapicque-script"]["counts"] and not res["annarchy"]["counts"]
    t = Table("network", "t", NW.COLUMNS)
    for impl, r in res.items():
        t.add(**NW._row("COBA", "p = 0.02", 4000, 80, impl, dict(r, impl=impl), res["lapicque"], res["brainpy"]))
    rows = {r["impl"]: r for r in t.rows}
    assert rows["lapicque-script"]["vs_brainpy"] == pytest.approx(4.) and "ratio" not in rows["lapicque-script"]
    assert rows["annarchy"]["ratio"] == pytest.approx(2.) and rows["annarchy"]["ratio_cpu"] == pytest.approx(1.5)
    text = NW.summary(t)
    assert "| COBA | p = 0.02 | 4,000 | 80 | 2 s | 0.5 s (4.00x; CPU 3.00x) | 0.1 s (20.00x; CPU 18.00x) |" in text
    assert "0.4 s (2.00x; CPU 1.50x) ✗" in text  # ANNarchy's rates are off: its time does not count
    # the headline: brainpy.state's unchanged script is 1x; the unchanged script on lapicque, simulate and the peers
    # are each measured against it
    head = text.split("**The ported script**")[0]
    assert "| brainpy.state script (1x) | unchanged brainpy.state script | simulate | ANNarchy 5 |" in head
    assert "| COBA | p = 0.02 | 4,000 | 80 | 2 s | 0.5 s (4.00x) | 0.2 s (10.00x) | 0.4 s (5.00x) ✗ |" in head
    merged = NW.merge_rounds([dict(run_s=3., cpu_s=1., load=2.), dict(run_s=1., cpu_s=2., load=4.),
                              dict(run_s=2., cpu_s=3., load=6.), {"error": "x"}])
    assert (merged["run_s"], merged["cpu_s"], merged["load"], merged["rounds"]) == (2., 2., 4., [3., 1., 2.])


@pytest.mark.slow
def test_network_quick_runs_the_ported_script_and_simulate(tmp_path):
    """``python -m benchmarks network --quick`` (shortened to 0.05 s of biological time, one repeat, no peers):
    exit 0, the headline with brainpy.state's script as 1x, the unchanged script (its comm adopted) and simulate."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if "PYTHONPATH" in os.environ
                                                         else []))}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.network", "--quick", "--duration", "0.05", "--repeats", "2",
         "--impls", "lapicque,script", "--out", str(tmp_path), "--stem", "net"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "**Headline: what users run**" in proc.stdout
    assert "| brainpy.state script (1x) | unchanged brainpy.state script | simulate |" in proc.stdout
    rows = {r["impl"]: r for r in json.loads((tmp_path / "net.json").read_text())["tables"]["network"]["rows"]}
    for impl in ("brainpy", "lapicque-script", "lapicque", "loop-floor"):
        assert rows[impl].get("run_s", 0) > 0, rows[impl]
    # 50 ms is the onset transient: only the two lapicque runs of the same network are held to the same rates
    assert rows["brainpy"]["rate_e"] > 0 and rows["brainpy"]["rate_i"] > 0
    for key in ("rate_e", "rate_i"):
        assert rows["lapicque-script"][key] == pytest.approx(rows["lapicque"][key], rel=0.02)
    assert "lapicque_event_csr_matvec" in rows["lapicque-script"]["kernels"]  # the EventFixedProb comm was adopted
