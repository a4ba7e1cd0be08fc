"""State checkpoints: ``state_dict`` / ``load_state_dict`` and the checkpoint files.

The round trip that must hold bit for bit, for all 13 models, with and without a
batch axis, with refractory bookkeeping in flight:

    run 500 steps -> save -> run 500 more steps                  -> X
                     load into a fresh group -> run 500 steps    -> Y
    X == Y exactly (spikes, every state after every step, the final state)

Step ``i`` always runs with ``t = i * dt``, so the resumed runs continue the clock
(steps 500..999).  The runs use the compiled runner of ``test_fuzz`` (parameters
and states are arguments, so one compilation per model serves every run) in
chunks of 250 steps; one test also goes through ``model.update`` in
``brainstate.transform.for_loop`` directly.
"""

import warnings

import brainstate
import jax
import braintools
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque import checkpoint
from _run import run
from registry import NAMES, SPIKING_CURRENT_MA
from fuzz_support import N_NEURONS, N_STEPS, params_of_instance, simulate

DT = 0.1
HALF = 500  # steps before and after the checkpoint


def _kw(name):
    return {"ref_var": True} if lq.MODELS[name]._REFRACTORY else {}


def _make(name, n=N_NEURONS, **kwargs):
    return lq.MODELS[name](n, **_kw(name), **kwargs)


def _currents(name, batch, seed=0):
    """(2 * HALF, [batch,] N) noisy suprathreshold currents, a different level per neuron."""
    rng = np.random.default_rng(seed)
    shape = (2 * HALF,) + (() if batch is None else (batch,)) + (N_NEURONS,)
    level = SPIKING_CURRENT_MA[name] * rng.uniform(0.3, 3., shape[1:])
    return np.float32(level * (1. + 0.3 * rng.standard_normal(shape)))


def _run_chunks(name, params, states, currents, i0, spk_reset):
    """Run ``len(currents)`` steps in chunks of N_STEPS from step ``i0``; concatenated records."""
    spikes, records = [], []
    for k in range(0, len(currents), N_STEPS):
        states, spk, rec = simulate(name, params, states, currents[k:k + N_STEPS], DT, i0=i0 + k,
                                    spk_reset=spk_reset)
        spikes.append(spk)
        records.append(rec)
    return states, np.concatenate(spikes), {key: np.concatenate([r[key] for r in records]) for key in records[0]}


def _assert_bitwise(a, b, what):
    a, b = np.asarray(u.get_mantissa(a)), np.asarray(u.get_mantissa(b))
    assert a.dtype == b.dtype and a.shape == b.shape, f"{what}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
    assert np.array_equal(a, b), f"{what}: {np.sum(a != b)} of {a.size} values differ"


# --------------------------------------------------------------------------
# the round trip, all models, batched and not
# --------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [None, 2], ids=["unbatched", "batch2"])
@pytest.mark.parametrize("name", NAMES)
def test_round_trip_is_bit_exact(name, batch, tmp_path):
    spk_reset = "soft" if batch is None else "hard"
    currents = _currents(name, batch)
    a = _make(name, spk_reset=spk_reset)
    params = params_of_instance(a)
    with brainstate.environ.context(dt=DT * u.ms):
        a.init_state(batch)
    states, spk_first, _ = _run_chunks(name, params, a.state_dict(), currents[:HALF], 0, spk_reset)
    assert spk_first.sum() > 0, "the first half must spike for the test to mean anything"
    a.load_state_dict(states)
    if a._REFRACTORY:
        assert np.any(np.asarray(a.ref_steps_left.value) > 0), "no neuron is refractory at the checkpoint"
    path = checkpoint.save(tmp_path / f"{name}.ckpt", a, t=HALF * DT * u.ms)

    final_x, spk_x, rec_x = _run_chunks(name, params, a.state_dict(), currents[HALF:], HALF, spk_reset)

    b = _make(name, spk_reset=spk_reset)
    with brainstate.environ.context(dt=DT * u.ms):
        assert checkpoint.load(path, b) is b
    final_y, spk_y, rec_y = _run_chunks(name, params, b.state_dict(), currents[HALF:], HALF, spk_reset)

    assert spk_x.sum() > 0
    _assert_bitwise(spk_x, spk_y, f"{name}: spikes")
    assert set(rec_x) == set(rec_y) == set(a.state_dict()) - {"started"}  # the records hold per-neuron states
    for key in rec_x:
        _assert_bitwise(rec_x[key], rec_y[key], f"{name}: {key} after every step")
        _assert_bitwise(final_x[key], final_y[key], f"{name}: final {key}")


def test_round_trip_through_update_and_for_loop(tmp_path):
    """The same round trip through the model's own update (no traced parameters)."""
    name, batch = "AdExIFRef", 3
    currents = _currents(name, batch, seed=1)[:, :, :8]
    t_half = HALF * DT

    def make():
        return lq.AdExIFRef(8, tau_ref=2. * u.ms, spk_reset="hard", ref_var=True)

    a = make()
    run(a, currents[:HALF], dt=DT * u.ms, batch_size=batch)
    checkpoint.save(tmp_path / "a.ckpt", a, t=t_half * u.ms)
    record = ("V", "w", "last_spike_time", "ref_steps_left", "refractory")
    spk_x, rec_x = run(a, currents[HALF:], dt=DT * u.ms, init=False, t0=t_half, record=record)
    b = checkpoint.load(tmp_path / "a.ckpt", make())
    spk_y, rec_y = run(b, currents[HALF:], dt=DT * u.ms, init=False, t0=t_half, record=record)
    assert spk_x.sum() > 0
    _assert_bitwise(spk_x, spk_y, "spikes")
    for key in record:
        _assert_bitwise(rec_x[key], rec_y[key], key)


# --------------------------------------------------------------------------
# state_dict
# --------------------------------------------------------------------------
EXPECTED_STATES = {
    "IF": ["V"], "LIF": ["V"], "ALIF": ["V", "a"], "ExpIF": ["V"], "AdExIF": ["V", "w"], "QuaIF": ["V"],
    "AdQuaIF": ["V", "w"], "Gif": ["V", "I1", "I2", "V_th"],
}
UNITS = {"V": u.mV, "w": u.mA, "I1": u.mA, "I2": u.mA, "V_th": u.mV, "last_spike_time": u.ms}


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_names_units_and_values(name):
    model = _make(name, n=5)
    with pytest.raises(lq.StateNotInitializedError, match="init_state"):
        model.state_dict()
    with brainstate.environ.context(dt=DT * u.ms):
        model.init_state(batch_size=2)
    d = model.state_dict()
    base = EXPECTED_STATES[name.replace("Ref", "")]
    ref = ["last_spike_time", "ref_steps_left", "refractory"] if model._REFRACTORY else []
    assert sorted(d) == sorted(base + ref + ["started"])
    assert d.pop("started").shape == () and not bool(model.started.value)  # the group's flag: no step taken yet
    for key, value in d.items():
        assert np.shape(u.get_mantissa(value)) == (2, 5), key
        if key in UNITS:
            assert isinstance(value, u.Quantity) and value.unit == UNITS[key], (key, value)
        assert value is getattr(model, key).value
    if model._REFRACTORY:
        assert d["ref_steps_left"].dtype == jnp.int32 and d["refractory"].dtype == jnp.bool_


@pytest.mark.parametrize("name", NAMES)
def test_load_state_dict_restores_and_creates(name):
    src = _make(name, n=3)
    with brainstate.environ.context(dt=DT * u.ms):
        src.init_state(batch_size=4)
    changed = {k: (v + 1. * v.unit if isinstance(v, u.Quantity) else v) for k, v in src.state_dict().items()}
    dst = _make(name, n=3)  # never initialized: load_state_dict creates the states, batch axis included
    dst.load_state_dict(changed)
    for key, value in changed.items():
        _assert_bitwise(getattr(dst, key).value, value, key)
    assert isinstance(dst.V, brainstate.HiddenState)
    if dst._REFRACTORY:
        assert isinstance(dst.ref_steps_left, brainstate.ShortTermState)


def _lifref(n=3, batch=None):
    m = lq.LIFRef(n, ref_var=True)
    with brainstate.environ.context(dt=DT * u.ms):
        m.init_state(batch)
    return m


def test_load_state_dict_converts_units():
    m = _lifref()
    d = dict(m.state_dict(), V=jnp.array([0.001, 0.002, -0.07]) * u.volt,
             last_spike_time=jnp.array([1., 2., 3.]) * u.second)
    m.load_state_dict(d)
    np.testing.assert_allclose(m.V.value.to_decimal(u.mV), [1., 2., -70.], rtol=1e-6)
    assert m.V.value.unit == u.mV
    np.testing.assert_allclose(m.last_spike_time.value.to_decimal(u.ms), [1000., 2000., 3000.])


@pytest.mark.parametrize("change, error, pattern", [
    (lambda d: {k: v for k, v in d.items() if k != "refractory"}, ValueError, r"missing \['refractory'\]"),
    (lambda d: dict(d, spikes=jnp.zeros(3)), ValueError, r"unexpected \['spikes'\]"),
    (lambda d: dict(d, V=jnp.zeros(4) * u.mV), ValueError, r"'V' has shape \(4,\); expected \(3,\)"),
    (lambda d: dict(d, V=jnp.zeros((2, 3)) * u.mV), ValueError, r"'V' has shape \(2, 3\)"),
    (lambda d: dict(d, V=0. * u.mV), ValueError, r"'V' has shape \(\)"),
    (lambda d: dict(d, V=jnp.zeros(3) * u.ms), TypeError, r"'V' must be .*voltage.*wrong physical dimension"),
    (lambda d: dict(d, V=jnp.zeros(3)), TypeError, r"'V' must be .*voltage.*plain number"),
    (lambda d: dict(d, last_spike_time=jnp.zeros(3) * u.mV), TypeError, r"'last_spike_time' must be .*time"),
    (lambda d: dict(d, ref_steps_left=jnp.zeros(3) * u.ms), TypeError, r"'ref_steps_left' must be .*dimensionless"),
])
def test_load_state_dict_rejects_mismatches(change, error, pattern):
    m = _lifref()
    with pytest.raises(error, match=pattern) as err:
        m.load_state_dict(change(m.state_dict()))
    assert "LIFRef.load_state_dict" in str(err.value)


def test_load_state_dict_batch_must_match_an_initialized_group():
    m = _lifref(batch=None)
    with pytest.raises(ValueError, match=r"shape \(2, 3\); expected \(3,\)"):
        m.load_state_dict(_lifref(batch=2).state_dict())
    fresh = lq.LIFRef(4, ref_var=True)
    with pytest.raises(ValueError, match=r"shape \(2, 3\); expected \(4,\)"):
        fresh.load_state_dict(_lifref(batch=2).state_dict())


def test_failed_load_state_dict_leaves_the_group_unchanged():
    m = _lifref()
    before = {k: np.asarray(u.get_mantissa(v)) for k, v in m.state_dict().items()}
    bad = dict(m.state_dict(), V=jnp.full(3, 5.) * u.mV, last_spike_time=jnp.zeros(4) * u.ms)
    with pytest.raises(ValueError):
        m.load_state_dict(bad)
    for key, value in before.items():
        _assert_bitwise(getattr(m, key).value, value, key)


# --------------------------------------------------------------------------
# checkpoint files
# --------------------------------------------------------------------------
def test_file_records_model_shape_time_and_types(tmp_path):
    m = lq.GifRef((2, 3), tau_ref=2. * u.ms, a=0.005 / u.ms, ref_var=True)
    with brainstate.environ.context(dt=0.05 * u.ms):
        m.init_state(batch_size=4)
        path = checkpoint.save(tmp_path / "sub" / "gif.ckpt", m, t=12.5 * u.ms)
    info = checkpoint.read(path)
    assert info["model"] == "GifRef" and info["in_size"] == (2, 3) and info["batch_size"] == 4
    assert info["dt"] == 0.05 * u.ms and info["t"] == 12.5 * u.ms
    assert info["lapicque_version"] == lq.__version__ and info["format_version"] == checkpoint.FORMAT_VERSION
    assert info["params"]["a"] == 0.005 / u.ms and info["params"]["tau_ref"] == 2. * u.ms
    states = info["states"]
    assert sorted(states) == sorted(m.state_dict())
    assert states["V"].unit == u.mV and states["V"].dtype == np.float32 and states["V"].shape == (4, 2, 3)
    assert states["ref_steps_left"].dtype == np.int32 and states["refractory"].dtype == np.bool_
    # unbatched, no t, no dt in the environment
    m2 = lq.LIF(5)
    with brainstate.environ.context(dt=0.1 * u.ms):
        m2.init_state()
    checkpoint.save(tmp_path / "lif.ckpt", m2)
    info = checkpoint.read(tmp_path / "lif.ckpt")
    assert info["batch_size"] is None and info["t"] is None and info["in_size"] == (5,)


def test_file_is_plain_msgpack_without_pickle(tmp_path):
    import hashlib

    import msgpack

    m = _lifref()
    checkpoint.save(tmp_path / "x.ckpt", m)
    raw = (tmp_path / "x.ckpt").read_bytes()
    assert b"pickle" not in raw and b"__reduce__" not in raw
    top = msgpack.unpackb(raw, raw=False)
    assert top["format"] == checkpoint.FORMAT and top["format_version"] == checkpoint.FORMAT_VERSION == 3
    assert top["sha256"] == hashlib.sha256(top["payload"]).hexdigest()
    content = msgpack.unpackb(top["payload"], raw=False, ext_hook=lambda code, data: code)
    assert content["module"] == "LIFRef" and content["groups"][""]["model"] == "LIFRef"


def test_load_checks_model_and_shape(tmp_path):
    lif = lq.LIF(3)
    with brainstate.environ.context(dt=DT * u.ms):
        lif.init_state()
    lif.V.value = jnp.array([0.1, 0.2, 0.3]) * u.mV
    path = checkpoint.save(tmp_path / "lif.ckpt", lif)
    with pytest.raises(ValueError, match="holds the state of a LIF group, not of a IF group"):
        checkpoint.load(path, lq.IF(3))
    if_group = checkpoint.load(path, lq.IF(3), check_model=False)  # same state names: allowed on request
    _assert_bitwise(if_group.V.value, lif.V.value, "V")
    with pytest.raises(ValueError, match=r"shape \(3,\); the LIF group has shape \(4,\)"):
        checkpoint.load(path, lq.LIF(4))
    with pytest.raises(ValueError, match=r"state names do not match; missing \['last_spike_time'"):
        checkpoint.load(path, lq.LIFRef(3), check_model=False)
    batched = lq.LIF(3)
    with brainstate.environ.context(dt=DT * u.ms):
        batched.init_state(batch_size=2)
    with pytest.raises(ValueError, match=r"'V' has shape \(3,\); expected \(2, 3\)"):
        checkpoint.load(path, batched)


def test_bad_files_and_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        checkpoint.load(tmp_path / "missing.ckpt", lq.LIF(3))
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(checkpoint.CheckpointDamagedError, match="junk.ckpt' is damaged or is not a lapicque"):
        checkpoint.load(tmp_path / "junk.ckpt", lq.LIF(3))
    braintools.file.msgpack_save(str(tmp_path / "other.ckpt"), {"weights": np.zeros(3)})
    with pytest.raises(ValueError, match="not a lapicque checkpoint: it has no 'lapicque.checkpoint' header"):
        checkpoint.load(tmp_path / "other.ckpt", lq.LIF(3))
    with pytest.raises(lq.StateNotInitializedError):
        checkpoint.save(tmp_path / "x.ckpt", lq.LIF(3))
    m = _lifref()
    with pytest.raises(TypeError, match="time quantity"):
        checkpoint.save(tmp_path / "x.ckpt", m, t=5.)
    with pytest.raises(TypeError, match="lapicque neuron group or a brainstate module"):
        checkpoint.save(tmp_path / "x.ckpt", {"V": 1.})
    with pytest.raises(TypeError, match="lapicque neuron group or a brainstate module"):
        checkpoint.load(tmp_path / "x.ckpt", "LIF")
    checkpoint.save(tmp_path / "x.ckpt", m)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        checkpoint.save(tmp_path / "x.ckpt", m, overwrite=False)


def test_newer_format_is_refused(tmp_path, monkeypatch):
    m = _lifref()
    from lapicque._results import checkpoint_file as _ckpt_format

    monkeypatch.setattr(_ckpt_format, "FORMAT_VERSION", checkpoint.FORMAT_VERSION + 1)
    checkpoint.save(tmp_path / "new.ckpt", m)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="newer than this lapicque understands"):
        checkpoint.load(tmp_path / "new.ckpt", lq.LIFRef(3, ref_var=True))


def test_dt_change_with_refractory_neurons_warns(tmp_path):
    m = lq.LIFRef(3, tau_ref=5. * u.ms, ref_var=True)
    run(m, np.full((40, 3), 50., np.float32), dt=DT * u.ms)
    assert np.any(np.asarray(m.ref_steps_left.value) > 0)
    with brainstate.environ.context(dt=DT * u.ms):
        checkpoint.save(tmp_path / "r.ckpt", m)
    with brainstate.environ.context(dt=DT * u.ms), warnings.catch_warnings():
        warnings.simplefilter("error")
        checkpoint.load(tmp_path / "r.ckpt", lq.LIFRef(3, tau_ref=5. * u.ms, ref_var=True))  # same dt: silent
    with brainstate.environ.context(dt=0.05 * u.ms):
        with pytest.warns(checkpoint.DtChangeWarning, match=r"dt = 0.1 ms and dt is now 0.05 ms.*3 neuron\(s\) are "
                                                           r"mid-refractory"):
            checkpoint.load(tmp_path / "r.ckpt", lq.LIFRef(3, tau_ref=5. * u.ms, ref_var=True))


def test_dt_change_warns_without_refractory_neurons(tmp_path, isolated_environ):
    """Regression: the warning fired only when some neuron was mid-refractory."""
    for m in (lq.LIF(3), _lifref()):  # nothing refractory in either
        with brainstate.environ.context(dt=DT * u.ms):
            m.init_state()
            checkpoint.save(tmp_path / "q.ckpt", m)
        with brainstate.environ.context(dt=0.2 * u.ms):
            with pytest.warns(checkpoint.DtChangeWarning, match=r"saved at dt = 0.1 ms and dt is now 0.2 ms"):
                checkpoint.load(tmp_path / "q.ckpt", type(m)(3, **_kw(type(m).__name__)))
        with warnings.catch_warnings():  # no dt in the environment: nothing to compare, silent
            warnings.simplefilter("error")
            checkpoint.load(tmp_path / "q.ckpt", type(m)(3, **_kw(type(m).__name__)))


def test_float64_checkpoint_loads_into_float32_group(tmp_path):
    m = _lifref()
    d = dict(m.state_dict(), V=np.array([1.25, -3.5, 7.]) * u.mV)  # numpy float64 mantissa
    m.load_state_dict(d)
    assert m.V.value.dtype == np.float32
    checkpoint.save(tmp_path / "f.ckpt", m)
    again = checkpoint.load(tmp_path / "f.ckpt", lq.LIFRef(3, ref_var=True))
    np.testing.assert_array_equal(again.V.value.to_decimal(u.mV), [1.25, -3.5, 7.])


def test_trainable_parameters_are_saved_and_restored_on_request(tmp_path):
    tau = brainstate.ParamState(np.array([10., 12., 14.], np.float32) * u.ms)
    m = lq.LIF(3, tau=tau)
    with brainstate.environ.context(dt=DT * u.ms):
        m.init_state()
    tau.value = np.array([1., 2., 3.], np.float32) * u.ms  # "trained"
    checkpoint.save(tmp_path / "p.ckpt", m)
    info = checkpoint.read(tmp_path / "p.ckpt")
    assert info["trainable"] == ["tau"] and info["params"]["tau"].shape == (3,)

    def fresh(value=np.array([10., 12., 14.], np.float32) * u.ms):
        return lq.LIF(3, tau=brainstate.ParamState(value))

    with pytest.raises(ValueError, match=r"parameter 'tau' of the LIF group differs: saved 1.0 ms, this one has "
                                         r"10.0 ms at index \(0,\).*restore_params=True"):
        checkpoint.load(tmp_path / "p.ckpt", fresh())  # default: compared, and they differ
    kept = checkpoint.load(tmp_path / "p.ckpt", fresh(), check_params=False)  # parameters untouched
    np.testing.assert_array_equal(kept.tau.value.to_decimal(u.ms), [10., 12., 14.])
    restored = checkpoint.load(tmp_path / "p.ckpt", fresh(), restore_params=True)
    assert isinstance(restored.tau, brainstate.ParamState)
    np.testing.assert_array_equal(restored.tau.value.to_decimal(u.ms), [1., 2., 3.])
    with pytest.raises(ValueError, match=r"the saved 'LIF.tau' has shape \(3,\); the target has shape \(\)"):
        checkpoint.load(tmp_path / "p.ckpt", fresh(10. * u.ms), restore_params=True)
    with pytest.raises(ValueError, match="parameter 'tau' of the LIF group differs"):
        checkpoint.load(tmp_path / "p.ckpt", lq.LIF(3), restore_params=True)  # a constant tau is compared
    constant = checkpoint.load(tmp_path / "p.ckpt", lq.LIF(3), restore_params=True, check_params=False)
    assert constant.tau == 5. * u.ms


# --------------------------------------------------------------------------
# damage: every changed byte is detected (regression: flipped bytes loaded as garbage)
# --------------------------------------------------------------------------
def _saved_lifref(tmp_path, **kwargs):
    m = lq.LIFRef(3, ref_var=True, **kwargs)
    run(m, np.full((30, 3), 50., np.float32), dt=DT * u.ms)
    with brainstate.environ.context(dt=DT * u.ms):
        path = checkpoint.save(tmp_path / "good.ckpt", m, t=3. * u.ms)
    return m, path


def test_every_flipped_byte_is_reported_as_damage(tmp_path):
    _, path = _saved_lifref(tmp_path)
    good = (tmp_path / "good.ckpt").read_bytes()
    bad = tmp_path / "bad.ckpt"
    for i in range(len(good)):
        data = bytearray(good)
        data[i] ^= 0xFF
        bad.write_bytes(bytes(data))
        with pytest.raises(checkpoint.CheckpointDamagedError) as err:
            checkpoint.read(bad)
        msg = str(err.value)
        assert "bad.ckpt" in msg and "damaged" in msg, (i, msg)
    assert issubclass(checkpoint.CheckpointDamagedError, ValueError)


def test_one_flipped_bit_in_a_state_value_names_the_checksum(tmp_path):
    m, path = _saved_lifref(tmp_path)
    data = bytearray((tmp_path / "good.ckpt").read_bytes())
    v = np.asarray(m.V.value.mantissa).tobytes()  # the raw bytes of V are stored as they are
    at = bytes(data).index(v)
    data[at] ^= 0x01  # lowest mantissa bit of V[0]: a plausible value, only the checksum can tell
    (tmp_path / "bit.ckpt").write_bytes(bytes(data))
    with pytest.raises(checkpoint.CheckpointDamagedError, match=r"bit.ckpt' is damaged.*SHA-256 checksum does "
                                                                r"not match"):
        checkpoint.load(tmp_path / "bit.ckpt", lq.LIFRef(3, ref_var=True))


@pytest.mark.parametrize("cut", [lambda b: b[:-1], lambda b: b[:len(b) // 2], lambda b: b + b"\x00", lambda b: b""])
def test_truncated_or_extended_files_are_damaged(tmp_path, cut):
    _, path = _saved_lifref(tmp_path)
    (tmp_path / "cut.ckpt").write_bytes(cut((tmp_path / "good.ckpt").read_bytes()))
    with pytest.raises(checkpoint.CheckpointDamagedError, match="cut.ckpt' is damaged"):
        checkpoint.load(tmp_path / "cut.ckpt", lq.LIFRef(3, ref_var=True))


def test_format_1_files_still_load_with_a_warning(tmp_path):
    """Files written before checksums (braintools msgpack, one group) are read, unverified."""
    m, _ = _saved_lifref(tmp_path, tau_ref=2. * u.ms)
    braintools.file.msgpack_save(str(tmp_path / "v1.ckpt"), {
        "format": checkpoint.FORMAT, "format_version": 1, "lapicque_version": "0.1.0", "model": "LIFRef",
        "in_size": np.array([3]), "batch_size": -1, "dt_ms": DT, "t_ms": None, "states": dict(m.state_dict()),
        "params": {"tau_ref": 2. * u.ms}, "trainable": []})
    with brainstate.environ.context(dt=DT * u.ms), pytest.warns(UserWarning, match="without a checksum"):
        b = checkpoint.load(tmp_path / "v1.ckpt", lq.LIFRef(3, tau_ref=2. * u.ms, ref_var=True))
    for key, value in m.state_dict().items():
        _assert_bitwise(getattr(b, key).value, value, key)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="'tau_ref'.*saved 2.0 ms, this one has 5.0"):
        checkpoint.load(tmp_path / "v1.ckpt", lq.LIFRef(3, tau_ref=5. * u.ms, ref_var=True))


# --------------------------------------------------------------------------
# parameters are compared (regression: a tau_ref = 2 ms file loaded into a 5 ms group)
# --------------------------------------------------------------------------
def test_mismatched_parameter_is_refused_naming_it_and_both_values(tmp_path):
    _, path = _saved_lifref(tmp_path, tau_ref=2. * u.ms)
    with brainstate.environ.context(dt=DT * u.ms):
        with pytest.raises(ValueError, match=r"parameter 'tau_ref' of the LIFRef group differs: saved 2.0 ms, "
                                             r"this one has 5.0 ms.*check_params=False"):
            checkpoint.load(path, lq.LIFRef(3, tau_ref=5. * u.ms, ref_var=True))
        same = checkpoint.load(path, lq.LIFRef(3, tau_ref=0.002 * u.second, ref_var=True))  # units converted
        assert same.V.value.shape == (3,)
        loose = checkpoint.load(path, lq.LIFRef(3, tau_ref=5. * u.ms, ref_var=True), check_params=False)
        assert loose.tau_ref == 5. * u.ms  # the opt-out loads the states, parameters untouched
        with pytest.raises(ValueError, match=r"'V_th' of the LIFRef group differs: saved 1.0 mV, this one has "
                                             r"1.5 mV at index \(2,\)"):
            checkpoint.load(path, lq.LIFRef(3, tau_ref=2. * u.ms, V_th=np.array([1., 1., 1.5]) * u.mV,
                                            ref_var=True))
        with pytest.raises(ValueError, match=r"spk_reset of the LIFRef group differs: saved 'soft', this group "
                                             r"has 'hard'"):
            checkpoint.load(path, lq.LIFRef(3, tau_ref=2. * u.ms, spk_reset="hard", ref_var=True))


# --------------------------------------------------------------------------
# a whole network: two LIFRef groups, a Linear and a state of its own
# --------------------------------------------------------------------------
class _Net(brainstate.nn.Module):
    """A hand-made network: exc -> Linear -> inh, and a decaying trace of inh's spikes."""

    def __init__(self, seed=0, tau_ref=2. * u.ms):
        super().__init__()
        self.exc = lq.LIFRef(6, tau_ref=tau_ref, V_th=1.2 * u.mV, ref_var=True)
        self.inh = lq.LIFRef(4, tau_ref=1. * u.ms, tau=8. * u.ms)
        with brainstate.random.seed_context(seed):
            self.lin = brainstate.nn.Linear(6, 4, w_init=braintools.init.Uniform(20., 60.))

    def init_state(self, batch_size=None, **kwargs):
        self.trace = brainstate.ShortTermState(jnp.zeros(4))

    def update(self, x):
        spk_e = self.exc(x)
        spk_i = self.inh(self.lin(spk_e) * u.mA)
        self.trace.value = 0.95 * self.trace.value + spk_i
        return spk_e, spk_i


def _net_run(net, currents, i0):
    def step(i, x):
        with brainstate.environ.context(t=i * DT * u.ms):
            spk_e, spk_i = net.update(x * u.mA)
        return spk_e, spk_i, {p: u.get_mantissa(s.value) for p, s in _state_items(net)}

    with brainstate.environ.context(dt=DT * u.ms):
        out = brainstate.transform.for_loop(step, jnp.arange(i0, i0 + len(currents)), currents)
    return jax.tree.map(np.asarray, out)


def _state_items(net):
    return [(".".join(p), s) for p, s in net.states().items() if not isinstance(s, brainstate.ParamState)]


def _fresh_net(**kwargs):
    net = _Net(**kwargs)
    with brainstate.environ.context(dt=DT * u.ms):
        brainstate.nn.init_all_states(net)
    return net


def test_network_round_trip_is_bit_exact(tmp_path):
    rng = np.random.default_rng(3)
    currents = np.float32(rng.uniform(5., 40., (600, 6)))
    a = _fresh_net()
    _net_run(a, currents[:300], 0)
    assert np.any(np.asarray(a.exc.ref_steps_left.value) > 0) or np.any(np.asarray(a.trace.value) > 0)
    path = checkpoint.save(tmp_path / "net.ckpt", a, t=300 * DT * u.ms)
    info = checkpoint.read(path)
    assert set(info["groups"]) == {"exc", "inh"} and info["groups"]["exc"]["model"] == "LIFRef"
    assert {"exc.V", "exc.refractory", "inh.ref_steps_left", "trace", "lin.weight"} <= set(info["states"])
    assert info["param_states"] == ["lin.weight"] and info["module"] == "_Net"
    x = _net_run(a, currents[300:], 300)

    b = _fresh_net(seed=1)  # other random weights
    with pytest.raises(ValueError, match=r"parameter 'lin.weight\['weight'\]' differs: saved .* restore_params"):
        checkpoint.load(path, b)
    with brainstate.environ.context(dt=DT * u.ms):
        assert checkpoint.load(path, b, restore_params=True) is b
    y = _net_run(b, currents[300:], 300)
    assert x[0].sum() > 0 and x[1].sum() > 0, "both groups must spike for the test to mean anything"
    _assert_bitwise(x[0], y[0], "exc spikes")
    _assert_bitwise(x[1], y[1], "inh spikes")
    for key in x[2]:
        _assert_bitwise(x[2][key], y[2][key], f"{key} after every step")

    c = _fresh_net(seed=0)  # the same weights: loads without restore_params
    checkpoint.load(path, c)
    _assert_bitwise(c.trace.value, checkpoint.read(path)["states"]["trace"], "trace")


def test_network_checks_every_group_and_state(tmp_path):
    a = _fresh_net()
    _net_run(a, np.full((50, 6), 30., np.float32), 0)
    path = checkpoint.save(tmp_path / "net.ckpt", a)
    b = _fresh_net(tau_ref=5. * u.ms)
    before = {p: np.asarray(u.get_mantissa(s.value)) for p, s in _state_items(b)}
    with pytest.raises(ValueError, match=r"'tau_ref' of the LIFRef group 'exc' differs: saved 2.0 ms, this one "
                                         r"has 5.0 ms"):
        checkpoint.load(path, b)
    for p, s in _state_items(b):  # nothing was written
        _assert_bitwise(s.value, before[p], p)
    with pytest.raises(ValueError, match=r"states outside the neuron groups do not match; missing in the module "
                                         r"\['trace'\].*init_all_states"):
        checkpoint.load(path, _Net())  # not initialized: its own state does not exist yet
    lone = lq.LIFRef(6, tau_ref=2. * u.ms, V_th=1.2 * u.mV, ref_var=True)
    with pytest.raises(ValueError, match=r"neuron groups do not match; missing in the module \['exc', 'inh'\]"):
        checkpoint.load(path, lone)
    half = _fresh_net()  # exc loads first, then inh fails: exc must be rolled back
    with brainstate.environ.context(dt=DT * u.ms):
        half.inh.init_state(2)
    exc_before = {p: np.asarray(u.get_mantissa(s.value)) for p, s in _state_items(half) if p.startswith("exc.")}
    with pytest.raises(ValueError, match=r"'V' has shape \(4,\); expected \(2, 4\)"):
        checkpoint.load(path, half)
    assert not np.array_equal(exc_before["exc.V"], np.asarray(a.exc.V.value.mantissa))
    for p, s in _state_items(half):
        if p.startswith("exc."):
            _assert_bitwise(s.value, exc_before[p], f"{p} after a failed load")


def test_scalar_states_keep_their_shape(tmp_path):
    """A 0-d state (e.g. a delay line's pointer) comes back 0-d."""
    import brainstate

    class WithCounter(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.n = lq.LIF(3)
            self.count = brainstate.ShortTermState(jnp.asarray(7, dtype=jnp.int32))

    net = WithCounter()
    net.n.init_state()
    path = lq.save(str(tmp_path / "c.ckpt"), net)
    fresh = WithCounter()
    fresh.n.init_state()
    fresh.count.value = jnp.asarray(0, dtype=jnp.int32)
    lq.load(path, fresh)
    assert fresh.count.value.shape == () and int(fresh.count.value) == 7


def test_synapses_merged_into_a_group_are_saved_and_restored(tmp_path):
    """AlignPostProj keeps its synapse in the postsynaptic group's before-update hooks: it is part of the checkpoint."""
    from _ei_shard_net import EINet
    brainstate.environ.set(dt=0.1 * u.ms)
    net = EINet(n_e=96, n_i=32)
    brainstate.nn.init_all_states(net)
    lq.simulate(net, None, 20 * u.ms, init=False)
    assert float(np.abs(np.asarray(u.get_mantissa(net.EE.syn.g.value))).max()) > 0
    path = lq.save(str(tmp_path / "net.ckpt"), net)
    fresh = EINet(n_e=96, n_i=32)
    brainstate.nn.init_all_states(fresh)
    lq.load(path, fresh)
    fs = fresh.states()
    for k, v in net.states().items():
        np.testing.assert_array_equal(np.asarray(u.get_mantissa(fs[k].value)), np.asarray(u.get_mantissa(v.value)),
                                      err_msg=".".join(map(str, k)))


# --------------------------------------------------------------------------
# connectivity is compared (issue 25, item 6: a checkpoint loaded into a network with other edges or weights)
# --------------------------------------------------------------------------
class _ConnNet(brainstate.nn.Module):
    """Two groups joined by a seeded sparse projection; ``weight`` shared (a scalar) or one per edge."""

    def __init__(self, seed=1, weight=6. * u.nS, k=10, tau=5. * u.ms, delay=1. * u.ms):
        super().__init__()
        self.E = lq.LIFRef(40, R=100. * u.Mohm, tau_ref=2. * u.ms, V_rest=-60. * u.mV, V_th=-50. * u.mV,
                           V_reset=-60. * u.mV)
        self.I = lq.LIF(20, R=100. * u.Mohm, V_rest=-60. * u.mV, V_th=-50. * u.mV, V_reset=-60. * u.mV)
        self.EI = lq.AlignPostProj(comm=lq.FixedOutDegree(40, 20, k, weight, seed=seed),
                                   syn=lq.Expon(20, tau=tau), out=lq.COBA(E=0. * u.mV), post=self.I,
                                   delay=delay)

    def update(self, x):
        self.EI(self.E.get_spike() != 0.)
        self.E(x)
        self.I(0. * u.nA)


def _conn_net(**kwargs):
    net = _ConnNet(**kwargs)
    with brainstate.environ.context(dt=DT * u.ms):
        brainstate.nn.init_all_states(net)
    return net


def _ran_conn_net(tmp_path, **kwargs):
    net = _conn_net(**kwargs)
    with brainstate.environ.context(dt=DT * u.ms):
        for i in range(100):
            with brainstate.environ.context(t=i * DT * u.ms):
                net.update(0.3 * u.nA)
    assert float(np.asarray(u.get_mantissa(net.E.V.value)).max()) > -60., "the run must move the state"
    return net, lq.save(tmp_path / "conn.ckpt", net)


def _values(net):
    return {p: np.asarray(u.get_mantissa(s.value)) for p, s in _state_items(net)}


@pytest.mark.parametrize("other, pattern", [
    (dict(seed=2), r"'EI.comm.post_ids' \(connectivity, weights or parameters outside the neuron groups\) differs: "
                   r"the values differ \(SHA-256"),
    (dict(k=12), r"'EI.comm.pre_ids' .* differs: saved shape \(400,\), this one has shape \(480,\)"),
    (dict(weight=7. * u.nS), r"'EI.comm.weight' .* differs: saved 6.0 nS, this one has 7.0 nS"),
    (dict(tau=8. * u.ms), r"'EI.syn.tau' .* differs: saved 5.0 ms, this one has 8.0 ms"),
    # the same whole number of delay steps, another value
    (dict(delay=1.04 * u.ms), r"'EI.delay_line.delay_ms' .* differs: saved 1.0, this one has 1.04"),
])
def test_checkpoint_refuses_a_network_with_other_connectivity(tmp_path, other, pattern):
    a, path = _ran_conn_net(tmp_path)
    b = _conn_net(**other)
    before = _values(b)
    with pytest.raises(ValueError, match=rf"lapicque.load: '.*conn.ckpt': {pattern}.*check_params=False"):
        checkpoint.load(path, b)
    for p, v in _values(b).items():  # nothing was written
        _assert_bitwise(v, before[p], p)
    checkpoint.load(path, b, check_params=False)  # the opt-out of the parameter comparison loads anyway
    for p, v in _values(b).items():
        _assert_bitwise(v, _values(a)[p], p)


def test_checkpoint_compares_per_edge_weights_and_loads_into_the_same_network(tmp_path):
    w = np.linspace(5., 7., 400).astype(np.float32) * u.nS
    a, path = _ran_conn_net(tmp_path, weight=w)
    info = checkpoint.read(path)
    assert info["format_version"] == 3
    same = _conn_net(weight=w)
    checkpoint.load(path, same)
    for p, v in _values(same).items():
        _assert_bitwise(v, _values(a)[p], p)
    w2 = np.array(w.mantissa)
    w2[123] = np.nextafter(w2[123], np.float32(10.))  # one edge, one ulp
    with pytest.raises(ValueError, match=r"'EI.comm.weight' .* differs: the values differ"):
        checkpoint.load(path, _conn_net(weight=w2 * u.nS))
    with pytest.raises(ValueError, match=r"'EI.comm.weight' .* differs: saved in nS, this one in uS"):
        checkpoint.load(path, _conn_net(weight=w.to(u.uS)))


def test_checkpoint_compares_the_ecosystems_connectivity(tmp_path):
    """brainstate.nn.EventFixedProb keeps its edges in a brainevent matrix (not a state): found and compared."""
    class Net(brainstate.nn.Module):
        def __init__(self, seed):
            super().__init__()
            self.E = lq.LIF(30)
            self.comm = brainstate.nn.EventFixedProb(30, 30, 0.2, 0.5 * u.mA, seed=seed)

        def update(self, x):
            return self.E(x + self.comm(self.E.get_spike() != 0.))

    def fresh(seed):
        net = Net(seed)
        with brainstate.environ.context(dt=DT * u.ms):
            brainstate.nn.init_all_states(net)
        return net

    path = lq.save(tmp_path / "bs.ckpt", fresh(3))
    checkpoint.load(path, fresh(3))
    with pytest.raises(ValueError, match=r"'comm.conn.indices' .* differs: the values differ"):
        checkpoint.load(path, fresh(4))


def test_format_2_checkpoint_loads_without_the_connectivity_check(tmp_path, monkeypatch):
    from lapicque._results import checkpoint_file as _ckpt_format
    real = checkpoint.write_file

    def as_format_2(path, content, overwrite):
        content = {k: v for k, v in content.items() if k != "fixed"}
        monkeypatch.setattr(_ckpt_format, "FORMAT_VERSION", 2)
        return real(path, content, overwrite)

    monkeypatch.setattr(checkpoint, "write_file", as_format_2)
    a, path = _ran_conn_net(tmp_path)
    monkeypatch.undo()
    assert checkpoint.read(path)["format_version"] == 2
    with pytest.warns(UserWarning, match=r"format-2 checkpoint, written before the connectivity was recorded"):
        b = checkpoint.load(path, _conn_net(seed=2))
    for p, v in _values(b).items():
        _assert_bitwise(v, _values(a)[p], p)


# --------------------------------------------------------------------------
# an old or foreign layout names its format version (regression: a raw KeyError)
# --------------------------------------------------------------------------
def test_checkpoint_missing_entries_name_the_format_versions(tmp_path, monkeypatch):
    from lapicque._results import checkpoint_file as _ckpt_format
    m = _lifref()
    checkpoint.save(tmp_path / "ok.ckpt", m)
    content = _ckpt_format.read_file(str(tmp_path / "ok.ckpt"))
    monkeypatch.setattr(_ckpt_format, "FORMAT_VERSION", 2)
    _ckpt_format.write_file(str(tmp_path / "v2.ckpt"), {k: v for k, v in content.items()
                                                         if k not in ("groups", "format_version")}, True)
    monkeypatch.undo()
    with pytest.raises(checkpoint.CheckpointDamagedError, match=r"'.*v2.ckpt' is a format-2 checkpoint \(written by "
                                                                r"lapicque .*\) but lacks \['groups'\].*this lapicque "
                                                                r"reads formats 1 to 3"):
        checkpoint.load(tmp_path / "v2.ckpt", lq.LIFRef(3, ref_var=True))
    group = {k: v for k, v in content["groups"][""].items() if k != "trainable"}
    _ckpt_format.write_file(str(tmp_path / "g.ckpt"), dict(content, groups={"": group}), True)
    with pytest.raises(checkpoint.CheckpointDamagedError, match=r"format-3 checkpoint .* lacks \[\"groups\[''\]"
                                                                r".trainable\"\]"):
        checkpoint.read(tmp_path / "g.ckpt")
    braintools.file.msgpack_save(str(tmp_path / "v1.ckpt"), {
        "format": checkpoint.FORMAT, "format_version": 1, "in_size": np.array([3]), "batch_size": -1,
        "states": dict(m.state_dict())})
    with pytest.warns(UserWarning), pytest.raises(checkpoint.CheckpointDamagedError,
                                                  match=r"format-1 checkpoint .* lacks \['model'\]"):
        checkpoint.load(tmp_path / "v1.ckpt", lq.LIFRef(3, ref_var=True))


# --------------------------------------------------------------------------
# a non-finite state is refused before anything is written (issue 25, item 4)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [None, 2])
def test_checkpoint_with_a_nan_state_is_refused_naming_state_and_neuron(tmp_path, batch):
    m = lq.LIFRef(4, ref_var=True)
    with brainstate.environ.context(dt=DT * u.ms):
        m.init_state(batch_size=batch)
    V = np.array(m.V.value.mantissa)
    V[..., 2] = np.nan
    m.V.value = V * u.mV
    path = checkpoint.save(tmp_path / "nan.ckpt", m)
    target = lq.LIFRef(4, ref_var=True)
    with brainstate.environ.context(dt=DT * u.ms):
        target.init_state(batch_size=batch)
    before = {k: np.asarray(u.get_mantissa(v)) for k, v in target.state_dict().items()}
    where = "" if batch is None else r" \(batch 0\)"
    n_bad = 1 if batch is None else 2
    with pytest.raises(ValueError, match=rf"nan.ckpt': the saved state 'V' holds nan at neuron 2 of the LIFRef "
                                         rf"group{where} \({n_bad} of {V.size} values are NaN or infinite\)"):
        checkpoint.load(path, target)
    for k, v in target.state_dict().items():
        _assert_bitwise(v, before[k], k)


def test_checkpoint_with_an_infinite_network_state_is_refused(tmp_path):
    net, _ = _ran_conn_net(tmp_path)
    g = np.array(net.EI.syn.g.value.mantissa)
    g[7] = -np.inf
    net.EI.syn.g.value = g * net.EI.syn.g.value.unit
    net.E.last_spike_time.value = net.E.last_spike_time.value  # -1e7 ms before a first spike: finite, accepted
    path = lq.save(tmp_path / "inf.ckpt", net)
    fresh = _conn_net()
    before = _values(fresh)
    with pytest.raises(ValueError, match=r"the saved state 'EI.syn.g' holds -inf at index \(7,\)"):
        checkpoint.load(path, fresh)
    for p, v in _values(fresh).items():
        _assert_bitwise(v, before[p], p)


def test_checkpoint_compares_the_arrays_of_a_users_own_module(tmp_path):
    """Found generically: a plain array attribute of any module (here a lookup table) is part of the record."""
    class Table(brainstate.nn.Module):
        def __init__(self, table, extra=None):
            super().__init__()
            self.table = table
            if extra is not None:
                self.extra = extra
            self.n = lq.LIF(3)

    def fresh(*args):
        net = Table(*args)
        with brainstate.environ.context(dt=DT * u.ms):
            brainstate.nn.init_all_states(net)
        return net

    path = lq.save(tmp_path / "t.ckpt", fresh(np.arange(40.)))
    assert set(checkpoint.read(path)["fixed"]) == {"table"}
    checkpoint.load(path, fresh(np.arange(40.)))
    checkpoint.load(path, fresh(np.arange(40., dtype=np.float32)))  # the same values in another precision
    with pytest.raises(ValueError, match=r"'table' .* differs: the values differ"):
        checkpoint.load(path, fresh(np.arange(40.) + 0.5))
    with pytest.raises(ValueError, match=r"arrays outside the neuron groups \(connectivity, weights, parameters\) "
                                         r"do not match; missing in the module \[\], not in the file \['extra'\]"):
        checkpoint.load(path, fresh(np.arange(40.), np.ones(2)))
