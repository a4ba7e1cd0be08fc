"""Seeded connectivity: counts against their distributions, reproducibility, event-driven products.

References: the binomial / fixed-degree laws of each builder (exact counts, or
sample statistics within stated sigma bounds), a dense numpy product for the
event-driven propagation, and brainpy issues #695/#667 (small networks with
too few connections, silently dropped duplicates).
"""

import braintools
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u
from scipy import stats

import lapicque
import lapicque._network.connectivity as connectivity
from tolerances import POISSON_SIGMAS as SIGMAS


def _within(value, mean, var):
    assert abs(value - mean) <= SIGMAS * np.sqrt(var), (value, mean, np.sqrt(var))


@pytest.mark.parametrize("n_pre,n_post,p", [(200, 300, 0.1), (4000, 4000, 0.02), (10, 10, 0.5)])
def test_pairwise_bernoulli_count_is_binomial(n_pre, n_post, p):
    conn = lapicque.PairwiseBernoulli(n_pre, n_post, p, 1. * u.nS, seed=3)
    n = n_pre * n_post
    _within(conn.n_edges, n * p, n * p * (1 - p))
    pairs = set(zip(conn.pre_ids.tolist(), conn.post_ids.tolist()))
    assert len(pairs) == conn.n_edges  # each pair at most once, none dropped


def test_pairwise_bernoulli_small_networks_get_p_on_average():
    """brainpy #695: small networks got far fewer connections than p. 400 seeds of a 10 x 10, p = 0.3."""
    counts = np.array([lapicque.PairwiseBernoulli(10, 10, 0.3, 1., seed=s).n_edges for s in range(400)])
    _within(counts.mean(), 30., 100 * 0.3 * 0.7 / counts.size)
    _within(counts.var(ddof=1), 21., 2 * 21. ** 2 / (counts.size - 1))  # sample variance ~ chi2 / dof


def test_pairwise_bernoulli_rows_are_binomial_and_pairs_uniform():
    n_pre, n_post, p = 500, 400, 0.05
    conn = lapicque.PairwiseBernoulli(n_pre, n_post, p, 1., seed=11)
    rows = np.bincount(conn.pre_ids, minlength=n_pre)
    _within(rows.mean(), n_post * p, n_post * p * (1 - p) / n_pre)
    cols = np.bincount(conn.post_ids, minlength=n_post)  # each column ~ Binomial(n_pre, p): chi-square
    chi2 = ((cols - n_pre * p) ** 2 / (n_pre * p * (1 - p))).sum()
    assert stats.chi2.sf(chi2, n_post) > 1e-5


def test_pairwise_bernoulli_extremes_and_autapses():
    assert lapicque.PairwiseBernoulli(30, 20, 0., 1.).n_edges == 0
    assert lapicque.PairwiseBernoulli(30, 20, 1., 1.).n_edges == 600
    conn = lapicque.PairwiseBernoulli(300, 300, 0.2, 1., seed=1, allow_autapses=False)
    assert not np.any(conn.pre_ids == conn.post_ids)
    _within(conn.n_edges, 300 * 299 * 0.2, 300 * 299 * 0.2 * 0.8)
    assert lapicque.PairwiseBernoulli(5, 5, 1., 1., allow_autapses=False).n_edges == 20


@pytest.mark.parametrize("multapses", [False, True])
def test_fixed_in_degree(multapses):
    n_pre, n_post, k = 50, 2000, 10
    conn = lapicque.FixedInDegree(n_pre, n_post, k, 1. * u.nS, seed=5, allow_multapses=multapses)
    assert conn.n_edges == n_post * k
    assert set(np.bincount(conn.post_ids, minlength=n_post)) == {k}
    per_post = [conn.pre_ids[conn.post_ids == j] for j in range(n_post)]
    n_distinct = np.array([len(set(s)) for s in per_post])
    if multapses:  # with replacement: the expected number of distinct sources, and duplicates kept
        expected = n_pre * (1 - (1 - 1 / n_pre) ** k)
        assert n_distinct.min() < k and abs(n_distinct.mean() - expected) < 0.05
    else:
        assert np.all(n_distinct == k)
    src = np.bincount(conn.pre_ids, minlength=n_pre)  # sources uniform: chi-square over presynaptic elements
    chi2 = ((src - n_post * k / n_pre) ** 2 / (n_post * k / n_pre)).sum()
    assert stats.chi2.sf(chi2, n_pre - 1) > 1e-5


@pytest.mark.parametrize("multapses", [False, True])
def test_fixed_out_degree(multapses):
    n_pre, n_post, k = 2000, 50, 10
    conn = lapicque.FixedOutDegree(n_pre, n_post, k, 1. * u.nS, seed=6, allow_multapses=multapses,
                                   allow_autapses=False)
    assert set(np.bincount(conn.pre_ids, minlength=n_pre)) == {k}
    assert not np.any(conn.pre_ids == conn.post_ids)
    n_distinct = np.array([len(set(conn.post_ids[conn.pre_ids == i])) for i in range(n_pre)])
    assert np.all(n_distinct == k) if not multapses else n_distinct.min() < k
    tgt = np.bincount(conn.post_ids, minlength=n_post)[k:]  # targets >= k never collide with an autapse
    chi2 = ((tgt - tgt.mean()) ** 2 / tgt.mean()).sum()
    assert stats.chi2.sf(chi2, tgt.size - 1) > 1e-5


def test_fixed_degree_uses_every_partner_when_k_is_n():
    conn = lapicque.FixedOutDegree(7, 5, 5, 1., seed=0)
    assert sorted(conn.post_ids[conn.pre_ids == 3].tolist()) == [0, 1, 2, 3, 4]
    conn = lapicque.FixedInDegree(5, 5, 4, 1., seed=0, allow_autapses=False)
    assert sorted(conn.pre_ids[conn.post_ids == 2].tolist()) == [0, 1, 3, 4]


@pytest.mark.parametrize("build", [
    lambda s: lapicque.PairwiseBernoulli(100, 80, 0.1, 1. * u.nS, seed=s),
    lambda s: lapicque.FixedInDegree(100, 80, 7, 1. * u.nS, seed=s),
    lambda s: lapicque.FixedOutDegree(100, 80, 7, 1. * u.nS, seed=s, allow_multapses=True),
])
def test_reproducible_by_seed(build):
    a, b, c = build(7), build(7), build(8)
    np.testing.assert_array_equal(a.pre_ids, b.pre_ids)
    np.testing.assert_array_equal(a.post_ids, b.post_ids)
    assert a.n_edges != c.n_edges or not np.array_equal(a.post_ids, c.post_ids)


def test_edge_list_keeps_duplicates_and_weight_order():
    pre, post = [2, 0, 2, 2], [1, 1, 1, 0]
    conn = lapicque.EdgeList(3, 2, pre, post, [1., 2., 3., 4.] * u.nS)
    assert conn.n_edges == 4
    dense = np.asarray(conn.to_dense().to_decimal(u.nS))
    np.testing.assert_array_equal(dense, [[0., 2.], [0., 0.], [4., 4.]])
    y = conn(jnp.array([True, True, True]))
    np.testing.assert_allclose(np.asarray(y.to_decimal(u.nS)), [4., 6.])


@pytest.mark.parametrize("weight", [0.5 * u.nS, braintools.init.Normal(1. * u.nS, 0.2 * u.nS)])
def test_event_driven_product_equals_dense(weight):
    conn = lapicque.FixedOutDegree(300, 200, 12, weight, seed=2, allow_multapses=True)
    dense = np.asarray(conn.to_dense().to_decimal(u.nS))
    rng = np.random.default_rng(0)
    spikes = rng.random((3, 300)) < 0.05
    expected = spikes.astype(float) @ dense
    for s, e in zip(spikes, expected):
        np.testing.assert_allclose(np.asarray(conn(jnp.asarray(s)).to_decimal(u.nS)), e, rtol=1e-5, atol=1e-5)
        f = jnp.asarray(s, jnp.float32)  # 0/1 floats are spikes too, also under jit
        got = jax.jit(lambda x: conn(x).to_decimal(u.nS))(f)
        np.testing.assert_allclose(np.asarray(got), e, rtol=1e-5, atol=1e-5)
    batch = conn(jnp.asarray(spikes))  # (batch, n_pre) input
    np.testing.assert_allclose(np.asarray(batch.to_decimal(u.nS)), expected, rtol=1e-5, atol=1e-5)


def test_native_and_brainevent_kernels_agree():
    """On CPU the native kernel runs; brainevent's (numba backend, selected by us) gives the same sums."""
    if jax.default_backend() != "cpu":
        pytest.skip("CPU only")
    pytest.importorskip("numba")
    from lapicque._network.connectivity import EventMatrix, _backend
    conn = lapicque.FixedOutDegree(400, 300, 20, braintools.init.Uniform(0.5 * u.nS, 1.5 * u.nS), seed=4,
                                   allow_multapses=True)
    assert conn.matrix.native
    other = EventMatrix(conn.matrix.data, conn.matrix.indices, conn.matrix.indptr, conn.matrix.shape)
    other.native, other.csr = False, other._brainevent_csr()
    assert _backend() == "numba" and other.csr.backend == "numba"
    spikes = jnp.asarray(np.random.default_rng(1).random((2, 400)) < 0.1)
    for s in (spikes[0], spikes):
        np.testing.assert_allclose(np.asarray(jax.jit(other)(s)), np.asarray(jax.jit(conn.matrix)(s)), rtol=1e-5)


@pytest.mark.parametrize("native", [True, False], ids=["native", "brainevent"])
def test_event_values_scale_the_weights(native):
    """Spike counts and released fractions: y = x @ W on both kernels, eager and compiled (issue 25, item 3)."""
    if jax.default_backend() != "cpu" and native:
        pytest.skip("the native kernel runs on CPU")
    conn = lapicque.FixedOutDegree(300, 200, 12, braintools.init.Uniform(0.5 * u.nS, 1.5 * u.nS), seed=2,
                                   allow_multapses=True)
    if not native:
        conn.matrix.native, conn.matrix.csr = False, conn.matrix._brainevent_csr()
    elif not conn.matrix.native:
        pytest.skip("native kernel unavailable")
    dense = np.asarray(conn.to_dense().to_decimal(u.nS))
    rng = np.random.default_rng(5)
    on = rng.random((2, 300)) < 0.1
    for x in (on * rng.random((2, 300)), on * rng.integers(1, 4, (2, 300)), on * 1.):
        x = jnp.asarray(x, jnp.float32)
        for f in (conn, jax.jit(conn)):
            np.testing.assert_allclose(np.asarray(f(x).to_decimal(u.nS)), np.asarray(x) @ dense, rtol=1e-5, atol=1e-5)
    spikes = jnp.asarray(on)  # 0/1 floats and bool spikes: the same sums, bit for bit
    assert np.array_equal(np.asarray(jax.jit(conn)(spikes.astype(jnp.float32)).mantissa),
                          np.asarray(jax.jit(conn)(spikes).mantissa))
    m, x = conn.matrix, jnp.asarray(on[0] * rng.random(300), jnp.float32)  # gradients at released fractions:
    # d/dx = W cot, d/dw_k = x_row(k) cot_col(k), on either kernel
    cot = jnp.asarray(rng.normal(size=200), jnp.float32)
    rows = np.repeat(np.arange(300), np.diff(m.indptr))
    np.testing.assert_allclose(np.asarray(jax.grad(lambda v: m(v) @ cot)(x)), dense @ np.asarray(cot), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(np.asarray(jax.grad(lambda d: m(x, d) @ cot)(m.data)),
                               np.asarray(x)[rows] * np.asarray(cot)[m.indices], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call,err,words", [
    (lambda: lapicque.PairwiseBernoulli(10, 10, 1.5, 1.), ValueError, "prob"),
    (lambda: lapicque.PairwiseBernoulli(0, 10, 0.1, 1.), ValueError, "in_size"),
    (lambda: lapicque.FixedInDegree(5, 5, 6, 1.), ValueError, "indegree"),
    (lambda: lapicque.FixedInDegree(5, 5, 5, 1., allow_autapses=False), ValueError, "indegree"),
    (lambda: lapicque.FixedOutDegree(5, 5, -1, 1.), ValueError, "outdegree"),
    (lambda: lapicque.FixedOutDegree(5, 5, 2, 1., seed=1.5), TypeError, "seed"),
    (lambda: lapicque.EdgeList(3, 2, [0, 3], [0, 1], 1.), ValueError, "pre_ids"),
    (lambda: lapicque.EdgeList(3, 2, [0, 1], [0], 1.), ValueError, "equal length"),
    (lambda: lapicque.EdgeList(3, 2, [0, 1], [0, 1], [1., 2., 3.] * u.nS), ValueError, "one value per edge"),
    (lambda: lapicque.EdgeList(3, 2, [0], [0], np.nan * u.nS), ValueError, "finite"),
    # issue 25, item 9: each used to pass silently or raise a bare numpy error
    (lambda: lapicque.EdgeList(3, 2 ** 31 + 5, [0], [2 ** 31 + 1], 1. * u.nS), ValueError,
     r"EdgeList: out_size must be at most 2\*\*31 - 1 .*int32.*2,147,483,653"),
    (lambda: lapicque.PairwiseBernoulli(2 ** 31, 3, 0.1, 1. * u.nS), ValueError, "PairwiseBernoulli: in_size.*int32"),
    (lambda: lapicque.EdgeList(3, 2, [0, 1], [0, 1], braintools.init.Normal(np.nan * u.nS, 1. * u.nS)), ValueError,
     "EdgeList: weight must be finite; got nan at 2 of 2 places"),
    (lambda: lapicque.FixedOutDegree(5, 5, 2, lambda shape: np.full(shape, np.inf) * u.nS), ValueError,
     "FixedOutDegree: weight must be finite; got inf"),
    (lambda: lapicque.EdgeList(3, 2, [0, 1], [0, 1], jnp.array([1., np.nan]) * u.nS), ValueError,
     "EdgeList: weight must be finite"),
    (lambda: lapicque.FixedOutDegree(5, 5, 2, 1. * u.nS, seed=-1), ValueError,
     r"FixedOutDegree: seed must be a non-negative int \(0, 1, 2, ...\) or None; got -1"),
    (lambda: lapicque.FixedInDegree(5, 5, 2, 1. * u.nS, seed=True), TypeError, "FixedInDegree: seed"),
    (lambda: lapicque.FixedOutDegree(5, 5, 2, "6nS"), TypeError,
     r"FixedOutDegree: weight must be a quantity such as 6 \* u.nS.*'6nS'"),
    (lambda: lapicque.EdgeList(3, 2, [0], [1], {"w": 1}), TypeError, "EdgeList: weight must be a quantity"),
    (lambda: lapicque.FixedOutDegree(10, 10 ** 9, 10 ** 9 - 1, 1. * u.nS, allow_multapses=True), ValueError,
     r"FixedOutDegree: outdegree gives 9,999,999,990 connections .*480.0 GB.*2\*\*31 - 1"),
    (lambda: lapicque.PairwiseBernoulli(10 ** 6, 10 ** 6, 0.5, 1. * u.nS), ValueError,
     r"PairwiseBernoulli: prob gives .* connections .*GB.*2\*\*31 - 1"),
])
def test_bad_construction(call, err, words):
    with pytest.raises(err, match=words):
        call()


def test_connections_beyond_the_available_memory_are_refused_with_the_figure(monkeypatch):
    """An out-degree whose draw does not fit the memory is refused before allocating (was a MemoryError)."""
    monkeypatch.setattr(connectivity, "available_memory", lambda: 2 * 10 ** 9)
    with pytest.raises(ValueError, match=r"FixedOutDegree: outdegree gives 100,000,000 connections, which need "
                                         r"about 4.8 GB to build .* but 2.0 GB of memory is available"):
        lapicque.FixedOutDegree(1000, 10 ** 6, 10 ** 5, 1. * u.nS, allow_multapses=True)
    with pytest.raises(ValueError, match=r"FixedInDegree: indegree gives 100,000,000 connections"):
        lapicque.FixedInDegree(10 ** 6, 1000, 10 ** 5, 1. * u.nS, allow_multapses=True)
    assert lapicque.FixedOutDegree(100, 100, 10, 1. * u.nS).n_edges == 1000  # small draws are untouched
    assert BYTES_PER_EDGE_MEASURED[0] <= connectivity.BYTES_PER_EDGE <= BYTES_PER_EDGE_MEASURED[1]


#: Peak bytes per connection measured for 2e7 connections (FixedOutDegree, FixedInDegree with an initializer,
#: PairwiseBernoulli): 40-54; the estimate must lie in that range.
BYTES_PER_EDGE_MEASURED = (40, 54)


def test_memory_available_is_read():
    free = connectivity.available_memory()
    assert free is None or free > 0


@pytest.mark.parametrize("x,err,words", [
    (jnp.array([0., -0.5, 1.]), ValueError, "non-negative finite event values.*-0.5 .at 1 places"),
    (jnp.array([0., jnp.nan, 1.]), ValueError, "non-negative finite event values.*nan"),
    (jnp.array([jnp.inf, 0., 1.]), ValueError, "non-negative finite"),
    (jnp.array([True, False]), ValueError, "shape"),
    (jnp.array([1., 0., 0.]) * u.mV, TypeError, "without units"),
    (jnp.ones((2, 2, 3), bool), ValueError, "shape"),
])
def test_bad_input(x, err, words):
    conn = lapicque.EdgeList(3, 2, [0], [1], 1. * u.nS)
    with pytest.raises(err, match=words) as info:
        conn(x)
    assert "EdgeList" in str(info.value)
