"""lapicque._kernels.event: event-driven CSR propagation against a dense reference, exactness, errors, gradients."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lapicque._kernels.event import check_csr, event_csr_matvec, native_available, stack_csr

from tolerances import EVENT_KERNEL_F32_RTOL


def _random_csr(rng, n_pre, n_out, mean_degree):
    degree = rng.poisson(mean_degree, n_pre)
    indptr = np.concatenate([[0], np.cumsum(degree)]).astype(np.int32)
    indices = rng.integers(0, n_out, indptr[-1]).astype(np.int32)  # multapses included
    return indptr, indices


def _dense(indptr, indices, weights, n_out):
    """The (n_pre, n_out) matrix with multapses summed, in float64."""
    n_pre = len(indptr) - 1
    rows = np.repeat(np.arange(n_pre), np.diff(indptr))
    m = np.zeros((n_pre, n_out))
    np.add.at(m, (rows, indices), np.broadcast_to(np.asarray(weights, float).reshape(-1), rows.shape))
    return m


def test_native_kernel_is_used_on_cpu():
    """On CPU with numba the product is one call of the lapicque FFI target (not brainevent, not a scatter)."""
    pytest.importorskip("numba")
    assert native_available()
    hlo = jax.jit(lambda s: event_csr_matvec(s, [0, 1, 2], [0, 1], 1., 2)).lower(jnp.ones(2, bool)).as_text()
    assert hlo.count("lapicque_event_csr_matvec") >= 1 and "scatter" not in hlo


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shared", [True, False])
def test_matches_dense_reference(dtype, shared):
    rng = np.random.default_rng(0)
    n_pre, n_out = 203, 97  # odd sizes: the 8-neuron skip meets unaligned tails
    indptr, indices = _random_csr(rng, n_pre, n_out, 7.0)
    w = np.array([0.75], dtype) if shared else rng.normal(size=indices.size).astype(dtype)
    spikes = rng.random(n_pre) < 0.1
    with jax.enable_x64(bool(dtype == np.float64)):
        y = jax.jit(lambda s: event_csr_matvec(s, indptr, indices, jnp.asarray(w), n_out))(spikes)
        assert y.dtype == dtype
        ref = spikes.astype(float) @ _dense(indptr, indices, w, n_out)
        np.testing.assert_allclose(np.asarray(y), ref, rtol=EVENT_KERNEL_F32_RTOL if dtype == np.float32 else 1e-12,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)


def test_exact_sums_no_spike_dropped():
    """Integer weights sum exactly in float32: every spike of every row arrives, even when all neurons spike."""
    rng = np.random.default_rng(1)
    n_pre, n_out = 1000, 300
    indptr, indices = _random_csr(rng, n_pre, n_out, 20.0)
    w = rng.integers(1, 5, indices.size).astype(np.float32)
    dense = _dense(indptr, indices, w, n_out)
    f = jax.jit(lambda s: event_csr_matvec(s, indptr, indices, w, n_out))
    for spikes in (np.ones(n_pre, bool), np.zeros(n_pre, bool), rng.random(n_pre) < 0.02):
        assert np.array_equal(np.asarray(f(spikes)), spikes.astype(float) @ dense)


def test_deterministic_and_batched():
    rng = np.random.default_rng(2)
    indptr, indices = _random_csr(rng, 64, 40, 5.0)
    w = rng.normal(size=indices.size).astype(np.float32)
    spikes = rng.random((3, 5, 64)) < 0.3
    f = jax.jit(lambda s: event_csr_matvec(s, indptr, indices, w, 40))
    y1, y2 = np.asarray(f(spikes)), np.asarray(f(spikes))
    assert y1.shape == (3, 5, 40) and np.array_equal(y1, y2)
    for idx in np.ndindex(3, 5):
        assert np.array_equal(y1[idx], np.asarray(f(spikes[idx])))
    assert np.array_equal(np.asarray(jax.vmap(f)(spikes)), y1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_event_values_scale_the_weights(dtype):
    """Numbers are events of that size: y = s @ W for 0/1 spikes, fractions, counts and either sign (read in
    place by the kernel for floats; -0.0 is no event); integers become values of the weights' dtype."""
    rng = np.random.default_rng(6)
    n_pre = 37  # odd: several neurons per 8-byte word, unaligned tail
    indptr, indices = _random_csr(rng, n_pre, 11, 4.0)
    w = rng.normal(size=indices.size)
    values = rng.choice(np.array([0., -0., 1., -1., 0.5, 2., 0.125]), size=(3, n_pre))
    values = np.round(values) if dtype == np.int32 else values
    with jax.enable_x64(dtype == np.float64):
        wdt = np.float64 if dtype == np.float64 else np.float32
        y = jax.jit(lambda s: event_csr_matvec(s, indptr, indices, jnp.asarray(w.astype(wdt)), 11))(
            values.astype(dtype))
        ref = values @ _dense(indptr, indices, w.astype(wdt), 11)
        np.testing.assert_allclose(np.asarray(y), ref, rtol=1e-5 if wdt == np.float32 else 1e-12,
                                   atol=1e-5 if wdt == np.float32 else 1e-12)


@pytest.mark.parametrize("kind", ["bool", "float32", "float64", "values"])
def test_native_equals_xla_formulation_bitwise(kind):
    """The native kernel and the XLA fallback add the same products in the same order: identical bits."""
    from lapicque._kernels.event import _xla_matvec
    rng = np.random.default_rng(9)
    indptr, indices = _random_csr(rng, 301, 57, 9.0)
    on = rng.random((2, 301)) < 0.2
    s = {"bool": on, "float32": on.astype(np.float32), "float64": on.astype(np.float64),
         "values": (on * rng.random((2, 301))).astype(np.float32)}[kind]
    for w in (jnp.float32(0.3), jnp.asarray(rng.normal(size=indices.size).astype(np.float32))):
        native = jax.jit(lambda x: event_csr_matvec(x, indptr, indices, w, 57))(s)
        w1 = jnp.reshape(w, (-1,))
        fallback = _xla_matvec(jnp.asarray(s).astype(jnp.float32), jnp.asarray(indptr), jnp.asarray(indices), w1, 57)
        assert np.array_equal(np.asarray(native), np.asarray(fallback))


def test_only_rows_with_a_non_zero_event_are_visited():
    """Event-driven for values too: a row holding an out-of-range column is never read while its event is 0
    (or -0.0), and is refused (not written out of bounds) as soon as it carries any non-zero value."""
    pytest.importorskip("numba")
    f = jax.jit(lambda s, ix: event_csr_matvec(s, jnp.array([0, 1, 2], jnp.int32), ix, jnp.float32(2.), 2))
    bad = jnp.array([1, 7], jnp.int32)
    for s in ([0.5, 0.], [0.5, -0.]):
        assert f(jnp.array(s, jnp.float32), bad).tolist() == [0., 1.]
    with pytest.raises(Exception, match="column index outside"):
        jax.block_until_ready(f(jnp.array([0.5, -0.25], jnp.float32), bad))


def test_inside_scan_matches_python_loop():
    """The kernel as a loop body (the simulation use): same result as step-by-step eager calls."""
    rng = np.random.default_rng(3)
    indptr, indices = _random_csr(rng, 50, 50, 4.0)
    spikes = rng.random((20, 50)) < 0.2

    def body(g, s):
        g = 0.9 * g + event_csr_matvec(s, indptr, indices, jnp.float32(0.5), 50)
        return g, g
    _, traj = jax.lax.scan(body, jnp.zeros(50), spikes)
    g = np.zeros(50, np.float32)
    dense = _dense(indptr, indices, 0.5, 50)
    for t in range(20):
        g = np.float32(0.9) * g + (spikes[t].astype(float) @ dense).astype(np.float32)
        np.testing.assert_allclose(np.asarray(traj[t]), g, rtol=EVENT_KERNEL_F32_RTOL, atol=1e-6)


def test_stack_csr_fuses_projections():
    """E rows excite two targets and I rows inhibit them; one stacked call equals the separate calls."""
    rng = np.random.default_rng(4)
    n_e, n_i, n_post = 40, 10, 30
    ip_e, ix_e = _random_csr(rng, n_e, n_post, 6.0)
    ip_i, ix_i = _random_csr(rng, n_i, n_post, 6.0)
    ip, ix, w = stack_csr([(0, 0, ip_e, ix_e, 6.), (n_e, n_post, ip_i, ix_i, 67.)], n_pre=n_e + n_i, n_out=2 * n_post)
    spikes = rng.random(n_e + n_i) < 0.3
    y = np.asarray(event_csr_matvec(spikes, ip, ix, w, 2 * n_post))
    assert np.array_equal(y[:n_post], np.asarray(event_csr_matvec(spikes[:n_e], ip_e, ix_e, np.float32(6.), n_post)))
    assert np.array_equal(y[n_post:], np.asarray(event_csr_matvec(spikes[n_e:], ip_i, ix_i, np.float32(67.), n_post)))


def test_gradients_weights_and_float_spikes():
    rng = np.random.default_rng(5)
    indptr, indices = _random_csr(rng, 12, 9, 3.0)
    w = rng.normal(size=indices.size).astype(np.float32)
    s = (rng.random(12) < 0.5).astype(np.float32)
    dense = _dense(indptr, indices, w, 9)
    cot = rng.normal(size=9).astype(np.float32)
    gs = jax.grad(lambda s_: jnp.dot(event_csr_matvec(s_, indptr, indices, w, 9), cot))(s)
    np.testing.assert_allclose(np.asarray(gs), dense @ cot, rtol=1e-5, atol=1e-5)
    gw = jax.grad(lambda w_: jnp.dot(event_csr_matvec(s, indptr, indices, w_, 9), cot))(jnp.asarray(w))
    rows = np.repeat(np.arange(12), np.diff(indptr))
    np.testing.assert_allclose(np.asarray(gw), s[rows] * cot[indices], rtol=1e-5, atol=1e-6)


def test_weight_gradient_of_event_values():
    """d y_j / d w_k = s_i for the row i of entry k: the value, not whether it is non-zero (it used to be 1)."""
    rng = np.random.default_rng(8)
    indptr, indices = _random_csr(rng, 12, 9, 3.0)
    w = jnp.asarray(rng.normal(size=indices.size).astype(np.float32))
    s = ((rng.random(12) < 0.6) * rng.random(12)).astype(np.float32)
    cot = rng.normal(size=9).astype(np.float32)
    gw = jax.grad(lambda w_: jnp.dot(event_csr_matvec(s, indptr, indices, w_, 9), cot))(w)
    rows = np.repeat(np.arange(12), np.diff(indptr))
    np.testing.assert_allclose(np.asarray(gw), s[rows] * cot[indices], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("args, match", [
    (([0, 2, 1], [0, 1], 1., 2), "non-decreasing"),
    (([0, 1, 2], [0, 5], 1., 2), r"indices must lie in \[0, n_out = 2\)"),
    (([0, 1, 2], [0, 1], np.ones(3), 2), "one shared value or one value per entry"),
    (([0, 1, 2], [0, 1], 1., -1), "n_out must be a non-negative int"),
    (([[0, 1]], [0], 1., 2), "indptr must be a 1-D integer array"),
])
def test_bad_structure_is_refused(args, match):
    with pytest.raises(ValueError, match=match):
        event_csr_matvec(jnp.ones(2, bool), *args)


def test_bad_spike_shape_and_dtype():
    with pytest.raises(ValueError, match=r"spikes must have shape \(\.\.\., n_pre\) with n_pre = .* 2"):
        event_csr_matvec(jnp.ones(3, bool), [0, 1, 2], [0, 1], 1., 2)
    with pytest.raises(ValueError, match="stack_csr block 0"):
        stack_csr([(0, 0, [0, 1], [3], 1.)], n_pre=1, n_out=2)


def test_traced_bad_indices_raise_instead_of_writing_out_of_bounds():
    pytest.importorskip("numba")
    f = jax.jit(lambda ip, ix: event_csr_matvec(jnp.ones(2, bool), ip, ix, jnp.float32(1.), 2))
    assert f(jnp.array([0, 1, 2], jnp.int32), jnp.array([1, 1], jnp.int32)).tolist() == [0., 2.]
    with pytest.raises(Exception, match="column index outside"):
        jax.block_until_ready(f(jnp.array([0, 1, 2], jnp.int32), jnp.array([1, 7], jnp.int32)))
    with pytest.raises(Exception, match="indptr outside"):
        jax.block_until_ready(f(jnp.array([0, 1, 9], jnp.int32), jnp.array([1, 1], jnp.int32)))


def test_check_csr_returns_int32():
    ip, ix = check_csr(np.array([0, 1], np.int64), np.array([0], np.int64), 1)
    assert ip.dtype == np.int32 and ix.dtype == np.int32


# --- item 12: the native handler only for tested XLA FFI layouts, and a forced fallback with identical results ---

def test_native_kernel_only_for_tested_ffi_versions():
    from lapicque._kernels.event import TESTED_FFI_API, ffi_api_version, native_decision
    assert native_decision(None, (0, 3)) == (True, "") and native_decision("1", (0, 5)) == (True, "")
    for env in ("0", "off", " False "):
        assert native_decision(env, (0, 3)) == (False, "")  # forced: no note
    allowed, note = native_decision(None, (1, 0))
    assert not allowed and "XLA FFI API 1.0" in note and "0.3 (jaxlib 0.10.2)" in note
    assert "LAPICQUE_NATIVE_KERNEL=0" in note
    assert not native_decision("", None)[0] and "unreadable" in native_decision("", None)[1]
    with pytest.raises(ValueError, match="LAPICQUE_NATIVE_KERNEL must be 0 .* or 1 .*got 'maybe'"):
        native_decision("maybe", (0, 3))
    if native_available():  # this process registered it: its jaxlib's header declares a tested version
        assert ffi_api_version() in TESTED_FFI_API


def test_untested_ffi_version_falls_back_with_one_note(monkeypatch):
    """An untested layout is never registered: a UserWarning names the version and the product still works."""
    import lapicque._kernels.event as ek
    monkeypatch.delenv(ek.NATIVE_ENV, raising=False)
    monkeypatch.setattr(ek, "ffi_api_version", lambda: (0, 99))
    with pytest.warns(UserWarning, match=r"XLA FFI API 0\.99, for which the native event kernel was not tested"):
        assert ek._register() is False
    monkeypatch.setitem(ek._STATE, "registered", False)  # what the first use records in that case
    hlo = jax.jit(lambda s: event_csr_matvec(s, [0, 1, 2], [0, 1], 1., 2)).lower(jnp.ones(2, bool)).as_text()
    assert "lapicque_event_csr_matvec" not in hlo and "scatter" in hlo
    assert event_csr_matvec(jnp.array([True, False]), [0, 1, 2], [0, 1], 1., 2).tolist() == [1., 0.]


def test_forced_fallback_gives_identical_results(tmp_path):
    """LAPICQUE_NATIVE_KERNEL=0 (the path of an untested jaxlib): an E/I network with STP gives the same spikes,
    conductances and V, bit for bit, as the native kernel; so do direct products of spikes and values."""
    root = Path(__file__).resolve().parents[2]
    script = Path(__file__).with_name("_fallback_run.py")  # the run, a script beside this file
    pythonpath = os.pathsep.join([str(root)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
    procs = {}
    for name, flag in (("native", "1"), ("fallback", "0")):
        env = {**os.environ, "JAX_PLATFORMS": "cpu", "LAPICQUE_NATIVE_KERNEL": flag, "PYTHONPATH": pythonpath}
        procs[name] = subprocess.Popen([sys.executable, str(script), str(tmp_path / f"{name}.npz")],
                                       env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info = {}
    for name, p in procs.items():
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        info[name] = json.loads([x for x in out.splitlines() if x.startswith("RESULT ")][-1][len("RESULT "):])
    assert info["fallback"] == {"native": False, "target": False}
    if importlib.util.find_spec("numba") is not None:
        assert info["native"] == {"native": True, "target": True}
    a, b = np.load(tmp_path / "native.npz"), np.load(tmp_path / "fallback.npz")
    assert len(a.files) == len(b.files) == 8
    for key in a.files:
        assert np.array_equal(a[key], b[key]), key
    assert a["arr_0"].sum() > 50 and a["arr_2"].max() > 0  # E spiked, STP-scaled conductance arrived
