"""simulate(..., devices=...): a sharded run equals an unsharded one, pads uneven sizes, communicates nothing.

The flag that gives JAX 4 CPU devices must be set before JAX starts, so every multi-device check
runs in ONE subprocess (one JAX start-up for all 13 models).  It writes its findings as JSON, and
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

SCRIPT = r'''
import json, re, sys, time
T0 = time.time()
def lap(what): print(f"{what}: {time.time() - T0:.1f} s", file=sys.stderr)
import numpy as np, jax, jax.numpy as jnp, saiunit as u
sys.path.insert(0, "tests")
import lapicque as lq
from lapicque import sharding
from registry import SPIKING_CURRENT_MA

out = {"devices": len(jax.devices())}
rng = np.random.default_rng(0)

def mant(x):
    return np.asarray(u.get_mantissa(x), dtype=np.float64)

def compare(a, b, names=()):
    r = {"spikes_equal": bool(np.array_equal(a.spike_raster(), b.spike_raster())) if a.spike_mode == "dense" else None,
         "counts_equal": bool(np.array_equal(a.spike_count, b.spike_count)),
         "n_spikes": int(np.sum(a.spike_count)), "shape": list(b.shape), "trace_diff": {}, "trace_scale": {}}
    for n in names:
        ta, tb = mant(a.traces[n]), mant(b.traces[n])
        r["trace_diff"][n] = float(np.max(np.abs(ta - tb))) if ta.shape == tb.shape else float("inf")
        r["trace_scale"][n] = float(np.max(np.abs(ta)))
    fa, fb = mant(a.model.V.value), mant(b.model.V.value)
    r["final_shape"] = list(fb.shape)
    r["final_diff"] = float(np.max(np.abs(fa - fb))) if fa.shape == fb.shape else float("inf")
    return r

# 1. every model, uneven N (203 = 4 * 50 + 3), per-neuron tau, initial V and current
N, T = 203, 300
models = {}
for name, cls in lq.MODELS.items():
    tau = cls(1).tau * rng.uniform(0.8, 1.2, N)
    probe = cls(1); probe.init_state()
    V0 = probe.V.value - rng.uniform(0., 2., N) * u.mV
    I = SPIKING_CURRENT_MA[name] * rng.uniform(0.6, 1.4, N) * u.mA
    names = tuple(cls._STATES)
    make = lambda: cls(N, tau=tau, V_initializer=V0)
    a = lq.simulate(make(), I, T * 0.1 * u.ms, record=names)
    b = lq.simulate(make(), I, T * 0.1 * u.ms, record=names, devices=4)
    models[name] = compare(a, b, names)
out["models"] = models
lap("models")

# 2. a 2 x 2 (batch, neuron) mesh, uneven batch (3) and N (37), current over time, decimated traces
mesh = jax.make_mesh((2, 2), ("batch", "neuron"))
batch = {}
for name in ("GifRef",):
    cls = lq.MODELS[name]
    I = SPIKING_CURRENT_MA[name] * rng.uniform(0.5, 1.5, (300, 3, 37)) * u.mA
    names = tuple(cls._STATES)
    a = lq.simulate(cls(37), I, 30 * u.ms, record=names, record_every=7, batch_size=3)
    b = lq.simulate(cls(37), I, 30 * u.ms, record=names, record_every=7, batch_size=3, devices=mesh)
    batch[name] = compare(a, b, names)
out["batch"] = batch
lap("batch")

# 3. a current function closing over a per-neuron array, spike counts only
I = np.linspace(0., 6., 101) * u.mA
f = lambda t: I * (t >= 5 * u.ms)
a = lq.simulate(lq.LIFRef(101), f, 50 * u.ms, spikes="count", count_from=10 * u.ms)
b = lq.simulate(lq.LIFRef(101), f, 50 * u.ms, spikes="count", count_from=10 * u.ms, devices=4)
out["count_fn"] = {
    "counts": bool(np.array_equal(a.spike_count, b.spike_count)), "n": int(a.spike_count.sum()),
    "first": bool(np.array_equal(a.first_spike_time.mantissa, b.first_spike_time.mantissa, equal_nan=True)),
    "last": bool(np.array_equal(a.last_spike_time.mantissa, b.last_spike_time.mantissa, equal_nan=True))}

lap("count_fn")
# 4. the result does not depend on the number of devices (bit for bit)
I = np.linspace(0., 6., 1000) * u.mA
runs = [lq.simulate(lq.ALIF(1000, tau=np.linspace(5., 20., 1000) * u.ms), I, 20 * u.ms, record=("V", "a"), devices=d)
        for d in (1, 3, 4)]
out["by_devices"] = all(np.array_equal(r.spike_raster(), runs[0].spike_raster())
                        and all(np.array_equal(mant(r.traces[n]), mant(runs[0].traces[n])) for n in ("V", "a"))
                        for r in runs[1:])
out["by_devices_spikes"] = int(runs[0].spike_count.sum())
lap("by_devices")

# 5. a two-dimensional group (6, 5): the first axis is cut (padded to 8)
I = rng.uniform(2., 8., (6, 5)) * u.mA
a = lq.simulate(lq.ALIF((6, 5)), I, 20 * u.ms, record=("V", "a"))
b = lq.simulate(lq.ALIF((6, 5)), I, 20 * u.ms, record=("V", "a"), devices=4)
out["two_dim"] = compare(a, b, ("V", "a"))
out["two_dim"]["events_equal"] = bool(np.array_equal(a.spike_events[1], b.spike_events[1]))

lap("two_dim")
# 6. continuing a sharded run (init=False) equals one long run
I = np.linspace(2., 6., 101) * u.mA
whole = lq.simulate(lq.LIFRef(101), I, 40 * u.ms, record="V")
m = lq.LIFRef(101)
first = lq.simulate(m, I, 20 * u.ms, record="V", devices=4)
second = lq.simulate(m, I, 20 * u.ms, record="V", devices=4, init=False, t0=first.t_end)
out["continue"] = {
    "spikes": bool(np.array_equal(np.concatenate([first.spike_raster(), second.spike_raster()]), whole.spike_raster())),
    "V": float(np.max(np.abs(np.concatenate([first.traces["V"].mantissa, second.traces["V"].mantissa])
                             - whole.traces["V"].mantissa)))}

lap("continue")
# 7. an even N stays cut across the devices after the run; the per-device program never holds all neurons
m = lq.LIF(1024, tau=np.linspace(5., 20., 1024) * u.ms)
lq.simulate(m, np.linspace(0., 6., 1024) * u.mA, 5 * u.ms, devices=4)
out["final_spec"] = m.V.value.mantissa.sharding.spec == jax.sharding.PartitionSpec("neuron")
out["final_devices"] = len(m.V.value.mantissa.sharding.device_set)
hlo = sharding.compiled_text(
    lq.AdExIFRef(1000, tau=np.linspace(5., 20., 1000) * u.ms, V_initializer=np.linspace(-70., -66., 1000) * u.mV),
    np.linspace(0., 40., 1000) * u.mA, 20 * u.ms, record=("V", "w"), devices=4, progress=True)
out["hlo"] = {"collectives": sharding.collectives(hlo), "has_loop": " while(" in hlo,
              "dims": sorted({int(d) for s in re.findall(r"\[([\d,]+)\]", hlo) for d in s.split(",") if d})}

lap("hlo")
# 8. the detector does find communication when there is some (a sum over all neurons)
spec = jax.sharding.PartitionSpec("neuron")
x = jax.device_put(jnp.ones(1024), jax.sharding.NamedSharding(sharding.make_mesh(4), spec))
out["control"] = sharding.collectives(jax.jit(jnp.sum).lower(x).compile().as_text())

# 9. errors
errors = {}
for key, kwargs in {"too_many": dict(devices=8), "bad_axis": dict(devices=jax.make_mesh((4,), ("x",))),
                    "batch_axis": dict(devices=mesh), "bad_type": dict(devices="gpu")}.items():
    try:
        lq.simulate(lq.LIF(8), 2 * u.mA, 1 * u.ms, **kwargs)
        errors[key] = None
    except Exception as e:
        errors[key] = f"{type(e).__name__}: {e}"
out["errors"] = errors
lap("end")
print("RESULT " + json.dumps(out))
'''


# two processes (two "hosts") with two CPU devices each, through jax.distributed
MULTIHOST = r'''
import json, sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU collectives across processes
jax.distributed.initialize(sys.argv[1], num_processes=2, process_id=int(sys.argv[2]))
import numpy as np, saiunit as u
import lapicque as lq

out = {"process": jax.process_index(), "devices": len(jax.devices()), "local": len(jax.local_devices())}
N = 1001
I = np.linspace(0., 36., N) * u.mA
tau = np.linspace(5., 20., N) * u.ms
a = lq.simulate(lq.AdExIFRef(N, tau=tau), I, 20 * u.ms, record=("V", "w"))           # this process alone
m = lq.AdExIFRef(N, tau=tau)
b = lq.simulate(m, I, 20 * u.ms, record=("V", "w"), devices=jax.devices())           # all 4 devices, 2 processes
out.update(spikes=bool(np.array_equal(a.spike_raster(), b.spike_raster())), n=int(a.spike_count.sum()),
           V=float(np.max(np.abs(a.traces["V"].mantissa - b.traces["V"].mantissa))), final=list(m.V.value.shape))
# an even N stays spread over both processes; continuing from it works
m = lq.LIF(1024)
c = lq.simulate(m, np.linspace(0., 6., 1024) * u.mA, 20 * u.ms, devices=4, spikes="count")
d = lq.simulate(m, np.linspace(0., 6., 1024) * u.mA, 20 * u.ms, devices=4, init=False, t0=c.t_end)
e = lq.simulate(lq.LIF(1024), np.linspace(0., 6., 1024) * u.mA, 40 * u.ms)
out.update(global_state=not m.V.value.mantissa.is_fully_addressable,
           counts=bool(np.array_equal(c.spike_count + d.spike_count, e.spike_count)))
print("RESULT " + json.dumps(out), flush=True)
'''


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    """Start the 4-device process and the two jax.distributed processes together; collect their findings."""
    dump = tmp_path_factory.mktemp("hlo")
    out = run_four_and_two_hosts(SCRIPT, MULTIHOST,
                                 f"--xla_dump_to={dump} --xla_dump_hlo_module_re=.*lapicque_run.*")
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
