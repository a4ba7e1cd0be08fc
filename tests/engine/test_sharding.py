"""simulate(..., devices=...): a sharded run equals an unsharded one, pads uneven sizes, communicates nothing.

The flag that gives JAX 4 CPU devices must be set before JAX starts, so every multi-device check
runs in ONE subprocess (one JAX start-up for all 13 models): the script ``_shard_group.py`` beside
this file, which prints its findings as JSON (two more processes run its jax.distributed part), and
XLA dumps every compiled ``simulate`` program (after SPMD partitioning) into a folder; the tests
below each assert one part of that.  A few single-device checks run in this process.
"""

import re
from pathlib import Path

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque import sharding
from _procs import run_four_and_two_hosts


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    """Start the 4-device process and the two jax.distributed processes together; collect their findings."""
    dump = tmp_path_factory.mktemp("hlo")
    out = run_four_and_two_hosts("_shard_group.py", f"--xla_dump_to={dump} --xla_dump_hlo_module_re=.*lapicque_run.*")
    out["four"]["dump"] = dump
    return out


@pytest.fixture(scope="module")
def four(processes):
    r = processes["four"]
    assert "error" not in r, r.get("error")
    return r


def _assert_same(r, what):
    assert r["n_spikes"] > 0, f"{what}: the case should spike"
    if r["spikes_equal"] is not None:
        assert r["spikes_equal"], f"{what}: spikes differ"
    assert r["counts_equal"], f"{what}: spike counts differ"
    for name, diff in r["trace_diff"].items():
        # The per-neuron parameters enter the sharded program as arguments, where the unsharded one
        # folds them in as constants: the traces agree to float32 rounding (same with devices=1),
        # amplified up to ~3e-3 mV only on the exponential upstroke of ExpIF/ExpIFRef.
        assert diff <= 1e-4 * (1. + r["trace_scale"][name]), f"{what}: trace {name} differs by {diff}"
    assert r["final_diff"] <= 1e-4, f"{what}: final state differs by {r['final_diff']}"


def test_runs_on_four_devices(four):
    assert four["devices"] == 4


@pytest.mark.parametrize("name", list(lq.MODELS))
def test_every_model_sharded_equals_unsharded_with_uneven_n(four, name):
    r = four["models"][name]
    _assert_same(r, name)
    assert r["shape"] == [203] and r["final_shape"] == [203]  # the padding is cut off again


@pytest.mark.parametrize("name", ["GifRef"])
def test_batch_and_neuron_mesh_with_uneven_sizes_and_current_over_time(four, name):
    r = four["batch"][name]
    _assert_same(r, name)
    assert r["shape"] == [3, 37] and r["final_shape"] == [3, 37]


def test_current_function_and_count_mode(four):
    r = four["count_fn"]
    assert r["n"] > 0 and r["counts"] and r["first"] and r["last"]


def test_result_is_the_same_bit_for_bit_on_1_3_4_devices(four):
    assert four["by_devices_spikes"] > 0
    assert four["by_devices"]


def test_two_dimensional_group(four):
    r = four["two_dim"]
    _assert_same(r, "ALIF (6, 5)")
    assert r["shape"] == [6, 5] and r["events_equal"]


def test_continuing_a_sharded_run(four):
    assert four["continue"]["spikes"]
    assert four["continue"]["V"] <= 1e-4


def test_state_stays_on_the_devices_and_no_device_holds_every_neuron(four):
    assert four["final_spec"] and four["final_devices"] == 4
    # per-neuron parameters, initial state, current and recordings all appear at the per-device
    # size 1024 / 4 = 256 (1000 padded to 1024); neither 1000 nor 1024 occurs anywhere
    dims = four["hlo"]["dims"]
    assert 256 in dims and 1000 not in dims and 1024 not in dims


def test_no_collectives_in_any_compiled_program(four):
    assert four["hlo"]["has_loop"] and four["hlo"]["collectives"] == []
    assert four["control"], "the detector must see the all-reduce of a sum over sharded neurons"
    # every program simulate compiled in the subprocess, as XLA ran it (after SPMD partitioning)
    files = sorted(Path(four["dump"]).glob("*lapicque_run*after_optimizations.txt"))
    texts = {f.name: f.read_text() for f in files}
    partitioned = {k: t for k, t in texts.items() if re.search(r"num_partitions=[234]\b", t)}
    assert len(partitioned) >= 13 + 1 + 1 + 2 + 1 + 2, sorted(texts)
    found = {k: sharding.collectives(t) for k, t in partitioned.items()}
    assert all(v == [] for v in found.values()), {k: v for k, v in found.items() if v}
    assert all(" while(" in t for t in partitioned.values())


def test_clear_errors(four):
    e = four["errors"]
    assert e["too_many"].startswith("ValueError") and "only 4 devices" in e["too_many"]
    assert e["bad_axis"].startswith("ValueError") and "'neuron'" in e["bad_axis"]
    assert e["batch_axis"].startswith("ValueError") and "batch_size" in e["batch_axis"]
    assert e["bad_type"].startswith("TypeError")


def test_two_processes_through_jax_distributed(processes):
    results = [processes["host0"], processes["host1"]]
    for r in results:
        assert "error" not in r, r.get("error")
    assert sorted(r["process"] for r in results) == [0, 1]
    for r in results:
        assert r["devices"] == 4 and r["local"] == 2
        assert r["n"] > 0 and r["spikes"] and r["V"] <= 7e-3 and r["final"] == [1001]
        assert r["global_state"] and r["counts"]


# --------------------------------------------------------------------------
# in this process (one device)
# --------------------------------------------------------------------------
def test_one_device_equals_unsharded_and_rows_layout_of_spikes():
    I = np.linspace(1., 6., 70, dtype=np.float32) * u.mA
    a = lq.simulate(lq.LIF(70), I, 30 * u.ms, record="V", batch_size=2)
    b = lq.simulate(lq.LIF(70), I, 30 * u.ms, record="V", batch_size=2, devices=1)
    assert b._packed.shape == (300, 2, 9)  # one packed row per batch entry
    np.testing.assert_array_equal(a.spike_raster(), b.spike_raster())
    np.testing.assert_array_equal(a.spike_count, b.spike_count)
    ta, na = a.spike_events
    tb, nb = b.spike_events
    np.testing.assert_array_equal(na, nb)
    np.testing.assert_array_equal(ta.mantissa, tb.mantissa)
    np.testing.assert_allclose(a.traces["V"].mantissa, b.traces["V"].mantissa, atol=1e-5)
    assert [len(x) for x in a.spike_times] == [len(x) for x in b.spike_times]


def test_errors_in_this_process():
    import jax

    n = len(jax.devices())
    with pytest.raises(ValueError, match="xla_force_host_platform_device_count"):
        lq.simulate(lq.LIF(4), 2 * u.mA, 1 * u.ms, devices=n + 1)
    with pytest.raises(ValueError, match="positive"):
        lq.simulate(lq.LIF(4), 2 * u.mA, 1 * u.ms, devices=0)
    with pytest.raises(TypeError, match="list of jax devices"):
        lq.simulate(lq.LIF(4), 2 * u.mA, 1 * u.ms, devices=[1, 2])


def test_compiled_text_single_device_has_no_collectives():
    hlo = sharding.compiled_text(lq.GifRef(16), 2 * u.mA, 5 * u.ms, record=("V", "V_th"), devices=1)
    assert " while(" in hlo and sharding.collectives(hlo) == []
    assert sharding.collectives("%x = f32[4] all-reduce-start(f32[4] %y)\n%z = all-gather(%w)") == \
        ["all-gather", "all-reduce"]
