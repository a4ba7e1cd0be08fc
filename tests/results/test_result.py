"""SimulationResult: one interface of properties, explicit dense spikes, NPZ round trip, neo export."""

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque import analysis
from lapicque._results.result import SimulationResult
from tolerances import ELEPHANT_RTOL


def _hand_made(dense, dt_ms=0.5, t0_ms=10.0, **kw):
    """A result built from a known raster (no simulation): the independent reference."""
    n_steps = dense.shape[0]
    return SimulationResult(model=None, dt_ms=dt_ms, t0_ms=t0_ms, n_steps=n_steps, shape=dense.shape[1:],
                            record_every=1, traces={}, spike_mode="dense", dense=dense, **kw)


@pytest.fixture
def raster():
    rng = np.random.default_rng(3)
    r = rng.random((400, 2, 3)) < 0.05
    r[:, 1, 2] = False  # one silent neuron
    return r


def test_properties_match_the_raster(raster):
    res = _hand_made(raster)
    flat = raster.reshape(400, -1)
    t_of = lambda steps: 10.0 + (steps + 1) * 0.5  # noqa: E731 - step i reports at t0 + (i + 1) dt
    assert len(res.spike_times) == 6
    for j in range(6):
        np.testing.assert_allclose(res.spike_times[j].to_decimal(u.ms), t_of(np.nonzero(flat[:, j])[0]), rtol=1e-6)
    np.testing.assert_array_equal(res.spike_count, raster.sum(0))
    np.testing.assert_allclose(res.rate.to_decimal(u.Hz), raster.sum(0) / 0.2, rtol=1e-6)
    first = np.array([t_of(np.nonzero(flat[:, j])[0][0]) if flat[:, j].any() else np.nan for j in range(6)])
    last = np.array([t_of(np.nonzero(flat[:, j])[0][-1]) if flat[:, j].any() else np.nan for j in range(6)])
    np.testing.assert_allclose(res.first_spike_time.to_decimal(u.ms).reshape(-1), first, rtol=1e-6)
    np.testing.assert_allclose(res.last_spike_time.to_decimal(u.ms).reshape(-1), last, rtol=1e-6)
    times, neurons = res.spike_events
    steps, ref_neurons = np.nonzero(flat)
    np.testing.assert_array_equal(neurons, ref_neurons)
    np.testing.assert_allclose(times.to_decimal(u.ms), t_of(steps), rtol=1e-6)
    np.testing.assert_array_equal(res.spike_raster(), raster)


def test_dense_spikes_are_explicit(raster):
    res = _hand_made(raster)
    with pytest.raises(AttributeError, match="spike_raster"):
        res.spikes  # noqa: B018
    with pytest.raises(KeyError, match="spike_raster"):
        res["spike"]
    # a result built from events rebuilds the same raster
    steps, neurons = np.nonzero(raster.reshape(400, -1))
    ev = SimulationResult(model=None, dt_ms=0.5, t0_ms=10.0, n_steps=400, shape=(2, 3), record_every=1,
                          traces={}, spike_mode="dense", events=(steps, neurons))
    np.testing.assert_array_equal(ev.spike_raster(), raster)


def test_packed_bits_give_the_same_spikes(raster):
    """The engine's packed form (one row of bits per step) reads as the raster it encodes."""
    packed = np.packbits(raster.reshape(400, -1), axis=1)
    res = SimulationResult(model=None, dt_ms=0.5, t0_ms=10.0, n_steps=400, shape=(2, 3), record_every=1,
                           traces={}, spike_mode="dense", packed=packed)
    np.testing.assert_array_equal(res.spike_raster(), raster)
    np.testing.assert_array_equal(res.spike_count, raster.sum(0))


def test_save_load_round_trip(tmp_path):
    model = lq.AdExIFRef(3, tau_ref=2 * u.ms, a=np.array([0.5, 1.0, 2.0], np.float32) * u.siemens,
                         spk_reset="hard")
    res = lq.simulate(model, [10., 30., 50.] * u.mA, 40 * u.ms, dt=0.05 * u.ms, record=("V", "w"),
                      record_every=4, progress=False)
    res.meta.update(seed=7, input="constant 10-50 mA")
    back = SimulationResult.load(res.save(tmp_path / "run.npz"))
    np.testing.assert_array_equal(back.spike_raster(), res.spike_raster())
    assert [len(t) for t in back.spike_times] == [len(t) for t in res.spike_times]
    for name in ("V", "w"):
        assert back.traces[name].unit == res.traces[name].unit
        np.testing.assert_array_equal(back.traces[name].mantissa, res.traces[name].mantissa)
    np.testing.assert_array_equal(back.trace_times.mantissa, res.trace_times.mantissa)
    assert (back.n_steps, back.shape, back.record_every, back.dt, back.t0) == \
        (res.n_steps, res.shape, res.record_every, res.dt, res.t0)
    assert back.meta["seed"] == 7 and back.meta["input"] == "constant 10-50 mA"
    assert {"python", "lapicque", "jax", "brainstate", "braintools", "saiunit"} <= set(back.meta["versions"])
    saved = back.meta["model_saved"]
    assert saved["class"] == "AdExIFRef" and saved["options"]["spk_reset"] == "hard"
    arr, unit = saved["params"]["a"]
    np.testing.assert_array_equal(u.Quantity(arr, unit=unit).to_decimal(u.siemens), [0.5, 1.0, 2.0])
    assert saved["params"]["tau_ref"][1] == u.ms
    # the rebuilt model carries every parameter
    assert isinstance(back.model, lq.AdExIFRef)
    for name in lq.AdExIFRef._PARAMS:
        np.testing.assert_allclose(np.broadcast_to(back.model._p(name), (3,)),
                                   np.broadcast_to(model._p(name), (3,)), rtol=0)


def test_count_mode_round_trip(tmp_path):
    res = lq.simulate(lq.LIFRef(4), [0.5, 2., 3., 4.] * u.mA, 60 * u.ms, spikes="count",
                      count_from=10 * u.ms, progress=False)
    back = SimulationResult.load(res.save(str(tmp_path / "count.npz")))
    assert back.spike_mode == "count"
    np.testing.assert_array_equal(back.spike_count, res.spike_count)
    np.testing.assert_array_equal(back.rate.mantissa, res.rate.mantissa)
    np.testing.assert_array_equal(back.first_spike_time.mantissa, res.first_spike_time.mantissa)
    np.testing.assert_array_equal(back.last_spike_time.mantissa, res.last_spike_time.mantissa)


def test_save_under_a_prefix_lets_containers_hold_several_results():
    from lapicque._results.formats import result_arrays, result_from_arrays
    a = _hand_made(np.eye(5, 2, dtype=bool))
    b = _hand_made(np.eye(5, 3, k=-1, dtype=bool), dt_ms=0.1)
    arrays = {**result_arrays(a, "E/"), **result_arrays(b, "I/")}
    for prefix, ref in (("E/", a), ("I/", b)):
        back = result_from_arrays(arrays, SimulationResult, prefix)
        np.testing.assert_array_equal(back.spike_raster(), ref.spike_raster())
        assert back.dt == ref.dt


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match=r"\.npz"):
        _hand_made(np.zeros((3, 1), bool)).save(tmp_path / "run.txt")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a lapicque result"):
        SimulationResult.load(tmp_path / "other.npz")


@pytest.mark.filterwarnings("ignore:The .copy. argument in Quantity")
def test_to_neo_and_elephant_agree_with_analysis():
    neo = pytest.importorskip("neo")
    pytest.importorskip("elephant")
    import quantities as pq
    from elephant.statistics import cv, isi, mean_firing_rate

    res = lq.simulate(lq.ALIF(4), [1.5, 2., 3., 4.] * u.mA, 200 * u.ms, record=("V", "a"), record_every=2,
                      progress=False)
    block = res.to_neo()
    assert isinstance(block, neo.Block)
    seg = block.segments[0]
    assert len(seg.spiketrains) == 4
    ours_rate = analysis.firing_rate(res).to_decimal(u.Hz)
    ours_isi = analysis.isi(res)
    ours_cv = analysis.isi_cv(res)
    for j, st in enumerate(seg.spiketrains):
        assert st.units == pq.ms and float(st.t_stop) == pytest.approx(200.0)
        assert float(mean_firing_rate(st).rescale(pq.Hz)) == pytest.approx(float(ours_rate[j]), rel=ELEPHANT_RTOL)
        np.testing.assert_allclose(np.asarray(isi(st).rescale(pq.ms)), ours_isi[j].to_decimal(u.ms), rtol=ELEPHANT_RTOL)
        assert float(cv(isi(st))) == pytest.approx(float(ours_cv[j]), rel=ELEPHANT_RTOL)
    V = next(s for s in seg.analogsignals if s.name == "V")
    assert V.units == pq.mV and V.shape == (1000, 4)
    np.testing.assert_allclose(np.asarray(V.magnitude), res.traces["V"].to_decimal(u.mV), rtol=1e-6)
    assert float(V.t_start.rescale(pq.ms)) == pytest.approx(float(res.trace_times[0].to_decimal(u.ms)))
    assert float(V.sampling_period.rescale(pq.ms)) == pytest.approx(0.2)


def test_several_results_in_one_file_and_one_neo_block(tmp_path):
    """What a network result reuses: one prefix per population in one NPZ, one neo Group per population."""
    from lapicque._results.formats import load_network, results_to_neo, save_results
    pops = {"E": _hand_made(np.eye(6, 2, dtype=bool)), "I": _hand_made(np.eye(6, 3, k=-2, dtype=bool), dt_ms=0.1)}
    back, _, _ = load_network(save_results(pops, tmp_path / "net.npz"), SimulationResult)
    assert list(back) == ["E", "I"]
    for name, ref in pops.items():
        np.testing.assert_array_equal(back[name].spike_raster(), ref.spike_raster())
        assert back[name].dt == ref.dt
    with pytest.raises(ValueError, match="without '/'"):
        save_results({"a/b": pops["E"]}, tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="holds no populations"):
        load_network(pops["E"].save(tmp_path / "one.npz"), SimulationResult)
    pytest.importorskip("neo")
    block = results_to_neo(pops)
    assert [g.name for g in block.groups] == ["E", "I"]
    assert [len(g.spiketrains) for g in block.groups] == [2, 3]
    assert len(block.segments[0].spiketrains) == 5
    assert {st.annotations["population"] for st in block.groups[1].spiketrains} == {"I"}


# --------------------------------------------------------------------------
# network results: every trace, every run (issue 25, item 6)
# --------------------------------------------------------------------------
def _ei(**kwargs):
    import brainstate
    from _ei_shard_net import EINet
    brainstate.environ.set(dt=0.1 * u.ms)
    brainstate.random.seed(11)
    return lq.simulate(EINet(n_e=96, n_i=32), None, 20 * u.ms, progress=False, **kwargs)


def _same_trace(a, b, name):
    assert u.get_unit(a) == u.get_unit(b), name
    np.testing.assert_array_equal(np.asarray(u.get_mantissa(a)), np.asarray(u.get_mantissa(b)), err_msg=name)


def test_network_result_saves_every_recorded_trace_with_its_unit(tmp_path):
    """Regression: a synapse's conductance ('EE.syn.g', no population's own trace) was silently dropped."""
    res = _ei(record=("EE.syn.g", "E.V", "I.V"))
    assert float(np.abs(np.asarray(u.get_mantissa(res.traces["EE.syn.g"]))).max()) > 0
    back = lq.NetworkResult.load(res.save(tmp_path / "net.npz"))
    assert list(back.traces) == ["EE.syn.g", "E.V", "I.V"]  # every trace, in the recorded order
    for name, q in res.traces.items():
        _same_trace(back.traces[name], q, name)
    _same_trace(back["E"].traces["V"], res["E"].traces["V"], "E.V as E's own trace")
    for pop in ("E", "I"):
        np.testing.assert_array_equal(back[pop].spike_raster(), res[pop].spike_raster())
    assert (back.n_steps, back.dt, back.t0, back.record_every) == (res.n_steps, res.dt, res.t0, res.record_every)


def test_network_result_keeps_its_counting_window(tmp_path):
    """Regression: the load forgot count_from, so mean_rate divided by the whole run."""
    res = _ei(spikes="count", count_from=5 * u.ms)
    back = lq.NetworkResult.load(res.save(tmp_path / "count.npz"))
    for pop in ("E", "I"):
        assert float(res.mean_rate[pop].to_decimal(u.Hz)) > 0
        assert float(back.mean_rate[pop].to_decimal(u.Hz)) == float(res.mean_rate[pop].to_decimal(u.Hz))


def test_network_without_populations_round_trips(tmp_path):
    """Regression: loading an empty network's result raised a bare StopIteration."""
    import brainstate
    import jax.numpy as jnp

    class Counter(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.x = brainstate.ShortTermState(jnp.zeros(3) * u.mV)

        def update(self, inp=None):
            self.x.value = self.x.value + 1. * u.mV

    res = lq.simulate(Counter(), None, 2 * u.ms, dt=0.1 * u.ms, record=("x",), record_every=2, progress=False)
    assert len(res) == 0
    back = lq.NetworkResult.load(res.save(tmp_path / "empty.npz"))
    assert len(back) == 0 and list(back.traces) == ["x"]
    _same_trace(back.traces["x"], res.traces["x"], "x")
    np.testing.assert_array_equal(back.traces["x"].to_decimal(u.mV)[:, 0], np.arange(2, 21, 2))  # closed form
    assert (back.n_steps, back.dt, back.record_every) == (20, res.dt, 2)
    np.testing.assert_array_equal(back.trace_times.mantissa, res.trace_times.mantissa)


def test_network_file_without_header_still_loads(tmp_path):
    """Files written before network headers (populations only) keep loading; an empty one says why it cannot."""
    from lapicque._results.formats import save_results
    pops = {"E": _hand_made(np.eye(6, 2, dtype=bool)), "I": _hand_made(np.eye(6, 3, k=-2, dtype=bool))}
    back = lq.NetworkResult.load(save_results(pops, tmp_path / "old.npz"))
    assert list(back) == ["E", "I"] and back.n_steps == 6
    np.testing.assert_array_equal(back["I"].spike_raster(), pops["I"].spike_raster())
    with pytest.raises(ValueError, match=r"old_empty.npz' holds no population and no network header.*run and "
                                         r"save it again"):
        lq.NetworkResult.load(save_results({}, tmp_path / "old_empty.npz"))


# --------------------------------------------------------------------------
# files that do not describe their run are refused (issue 25, items 6 and 9)
# --------------------------------------------------------------------------
def _rewrite(path, out, **changes):
    """A copy of the NPZ ``path`` at ``out`` with some arrays replaced (None: removed)."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize("key, change, message", [
    ("spike_steps", lambda s: np.where(np.arange(len(s)) == 3, 400, s), r"spike\(s\) lie outside the run: spike 3 "
                                                                        r"is at step 400.*400 steps"),
    ("spike_steps", lambda s: np.where(np.arange(len(s)) == 0, -1, s), r"at step -1.*valid steps 0..399"),
    ("spike_neurons", lambda n: np.where(np.arange(len(n)) == 2, 6, n), r"neuron 6, but the run has 6 neurons"),
    ("spike_neurons", lambda n: n[:-1], r"not two 1-D integer arrays of one length"),
    ("spike_steps", lambda s: s.astype(np.float32), r"not two 1-D integer arrays"),
])
def test_spikes_outside_the_run_are_refused(tmp_path, raster, key, change, message):
    path = _hand_made(raster).save(tmp_path / "good.npz")
    with np.load(path) as f:
        bad = change(f[key])
    _rewrite(path, tmp_path / "bad.npz", **{key: bad})
    with pytest.raises(ValueError, match=r"SimulationResult.load: '.*bad.npz': .*" + message):
        SimulationResult.load(tmp_path / "bad.npz")


def test_duplicate_and_unsorted_spikes(tmp_path, raster):
    path = _hand_made(raster).save(tmp_path / "good.npz")
    with np.load(path) as f:
        steps, neurons = f["spike_steps"], f["spike_neurons"]
    _rewrite(path, tmp_path / "dup.npz", spike_steps=np.append(steps, steps[4]),
             spike_neurons=np.append(neurons, neurons[4]))
    with pytest.raises(ValueError, match=rf"neuron {neurons[4]} spikes twice at step {steps[4]}"):
        SimulationResult.load(tmp_path / "dup.npz")
    order = np.random.default_rng(0).permutation(len(steps))  # shuffled events are the same spikes
    _rewrite(path, tmp_path / "shuffled.npz", spike_steps=steps[order], spike_neurons=neurons[order])
    np.testing.assert_array_equal(SimulationResult.load(tmp_path / "shuffled.npz").spike_raster(), raster)


def test_count_mode_and_trace_shapes_are_checked(tmp_path):
    res = lq.simulate(lq.LIF(3), [0.5, 2., 3.] * u.mA, 20 * u.ms, spikes="count", record=("V",), record_every=4,
                      progress=False)
    path = res.save(tmp_path / "count.npz")
    with np.load(path) as f:
        count, first, V = f["spike_count"], f["first_step"], f["trace/V"]
    assert count[0] == 0 and count[2] > 0
    cases = [({"first_step": np.where(np.arange(3) == 2, 200, first)}, r"neuron \(2,\) has a first spike step outside "
                                                                        r"the run.*200 steps"),
             ({"spike_count": np.where(np.arange(3) == 0, 1, count)}, r"neuron \(0,\) has a count that disagrees"),
             ({"spike_count": count[:2]}, r"'spike_count' is int\d+\(2,\); the run has 3 neurons"),
             ({"trace/V": V[:-1]}, r"trace 'V' has shape \(49, 3\), but a run of 200 steps recorded every 4 of "
                                   r"shape \(3,\) has \(50, 3\)"),
             ({"trace/V": None}, r"it has no 'trace/V' entry")]
    for k, (changes, message) in enumerate(cases):
        bad = _rewrite(path, tmp_path / f"bad{k}.npz", **changes)
        with pytest.raises(ValueError, match=message):
            SimulationResult.load(bad)


def test_network_file_with_spikes_outside_its_run_names_the_population(tmp_path):
    res = _ei(record=("EE.syn.g",))
    path = res.save(tmp_path / "net.npz")
    with np.load(path) as f:
        steps = f["I/spike_steps"]
        g = f["~network/trace/EE.syn.g"]
    bad = _rewrite(path, tmp_path / "bad.npz", **{"I/spike_steps": steps + 1000})
    with pytest.raises(ValueError, match=r"NetworkResult.load: '.*bad.npz' \(population 'I'\): .* lie outside the "
                                         r"run"):
        lq.NetworkResult.load(bad)
    short = _rewrite(path, tmp_path / "short.npz", **{"~network/trace/EE.syn.g": g[:5]})
    with pytest.raises(ValueError, match=r"short.npz': trace 'EE.syn.g' has shape \(5, 96\)"):
        lq.NetworkResult.load(short)


@pytest.mark.parametrize("damage", ["half", "empty", "bytes", "flip"])
def test_truncated_or_damaged_npz_names_the_file(tmp_path, damage):
    """Regression: a truncated NPZ raised a bare BadZipFile (or EOFError, zlib.error) naming nothing."""
    res = lq.simulate(lq.LIF(50), 3. * u.mA, 50 * u.ms, record=("V",), progress=False)
    good = (res.save(tmp_path / "run.npz") and (tmp_path / "run.npz").read_bytes())
    data = {"half": good[:len(good) // 2], "empty": b"", "bytes": b"0123456789" * 10,
            "flip": good[:len(good) // 3] + bytes([good[len(good) // 3] ^ 0xFF]) + good[len(good) // 3 + 1:]}[damage]
    for loader, name in ((SimulationResult.load, "SimulationResult.load"), (lq.NetworkResult.load,
                                                                           "NetworkResult.load")):
        (tmp_path / "bad.npz").write_bytes(data)
        with pytest.raises(ValueError, match=rf"{name}: '.*bad.npz' is damaged or truncated"):
            loader(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="no file at"):
        SimulationResult.load(tmp_path / "missing.npz")
