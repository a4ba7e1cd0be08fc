"""brainstate's sparse comms on lapicque's native kernel (issue 22, item 1): same edges, weights, sums and gradients.

Reference: the original comm called directly (brainstate + brainevent's kernels), on the same object.  Every
accepted comm, fixed seeds, several sizes, shared and per-edge weights, bool / 0-1 float / graded signed float /
integer / batched input; the weight gradients through brainstate's ``grad`` and the input gradients through
``jax.grad``.  The E/I network of ``test_ei_network.py`` gives the same spike trains with and without the swap in
float64 (``_ecosystem_ei.py``, its own process).  Each comparison also checks that lapicque's kernel did the work
(a test that passes by handing every call back to the original cannot pass here).
"""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import brainevent
import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque
from lapicque._network import ecosystem
from lapicque._network.ecosystem import AdoptedComm, adopt_comm, event_rule

ROOT = Path(__file__).resolve().parents[2]

#: Relative size of the difference allowed between two summation orders, per unit of sum(|e(x_i)| |w_k|): float32
#: rounding (eps = 1.2e-7) accumulated over at most a few hundred terms per target; in practice the sums are bitwise
#: equal (same row-then-edge order as brainevent's kernels), so any real error (a wrong edge, weight or rule) is
#: orders of magnitude larger.
SUM_ORDER_RTOL = 1e-5

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # brainstate's own calls of brainevent aliases


@pytest.fixture(autouse=True)
def kernel_calls(monkeypatch):
    """Count the calls of lapicque's kernel made by adopted comms."""
    calls = []
    real = ecosystem.event_csr_matvec

    def counting(*args, **kwargs):
        calls.append(args[0].dtype)
        return real(*args, **kwargs)

    monkeypatch.setattr(ecosystem, "event_csr_matvec", counting)
    return calls


def _weights(per_edge, unit, seed):
    """A shared weight, or an initializer drawing one weight per edge (any shape) from a seeded generator."""
    if not per_edge:
        return 0.7 * unit if unit is not None else 0.7
    rng = np.random.default_rng(seed + 100)

    def init(shape):
        w = jnp.asarray(rng.uniform(0.1, 2., size=shape), dtype=brainstate.environ.dftype())
        return w * unit if unit is not None else w

    return init


# ---- the comms: name -> builder(n_pre, n_post, seed, per_edge, unit) --------------------------------------------

def _efp(n_pre, n_post, seed, per_edge, unit):
    return brainstate.nn.EventFixedProb(n_pre, n_post, conn_num=0.34, conn_weight=_weights(per_edge, unit, seed),
                                        seed=seed)


def _efnc_distinct(n_pre, n_post, seed, per_edge, unit):
    return brainstate.nn.EventFixedNumConn(n_pre, n_post, conn_num=min(3, n_post),
                                           conn_weight=_weights(per_edge, unit, seed), seed=seed,
                                           allow_multi_conn=False)


def _efp_afferent(n_pre, n_post, seed, per_edge, unit):  # a brainevent CSR holding 60 % of the presynaptic rows
    return brainstate.nn.EventFixedProb(n_pre, n_post, conn_num=0.4, conn_weight=_weights(per_edge, unit, seed),
                                        seed=seed, afferent_ratio=0.6)


def _fnc(n_pre, n_post, seed, per_edge, unit):
    return brainstate.nn.FixedNumConn(n_pre, n_post, conn_num=0.34, conn_weight=_weights(per_edge, unit, seed),
                                      seed=seed)


def _fnc_afferent(n_pre, n_post, seed, per_edge, unit):
    return brainstate.nn.FixedNumConn(n_pre, n_post, conn_num=0.4, conn_weight=_weights(per_edge, unit, seed),
                                      seed=seed, afferent_ratio=0.6)


def _dense(n_pre, n_post, seed, unit, density=0.2):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.1, 2., (n_pre, n_post)) * (rng.random((n_pre, n_post)) < density)
    w = jnp.asarray(w, dtype=brainstate.environ.dftype())
    return w * unit if unit is not None else w


def _sparse_linear(kind):
    def build(n_pre, n_post, seed, per_edge, unit):
        w = _dense(n_pre, n_post, seed, unit)
        if kind in ("FixedNumPerPre", "FixedNumPerPost"):
            rng = np.random.default_rng(seed)
            rows, k = (n_pre, min(3, n_post)) if kind == "FixedNumPerPre" else (n_post, min(3, n_pre))
            idx = jnp.asarray(rng.integers(0, n_post if kind == "FixedNumPerPre" else n_pre, (rows, k)), jnp.int32)
            data = _weights(per_edge, unit, seed)
            data = data((rows, k)) if callable(data) else data
            mat = getattr(brainevent, kind)((data, idx), shape=(n_pre, n_post))
        else:
            mod = brainevent if kind.startswith("be.") else u.sparse
            mat = getattr(mod, kind.split(".")[-1]).fromdense(w)
        bias = None if per_edge else (0.25 * unit if unit is not None else 0.25) * jnp.ones(n_post)
        return brainstate.nn.SparseLinear(mat, b_init=bias)

    return build


def _event_linear(float_as_event):
    def build(n_pre, n_post, seed, per_edge, unit):
        return brainstate.nn.EventLinear(n_pre, n_post, _dense(n_pre, n_post, seed, unit, density=1.),
                                         float_as_event=float_as_event)

    return build


#: name -> (builder, reads its input as whole spikes)
COMMS = {
    "EventFixedProb": (_efp, True),
    "EventFixedNumConn-distinct": (_efnc_distinct, True),
    "EventFixedProb-afferent(CSR)": (_efp_afferent, True),
    "FixedNumConn": (_fnc, False),
    "FixedNumConn-afferent(CSR)": (_fnc_afferent, False),
    "SparseLinear-u.CSR": (_sparse_linear("CSR"), False),
    "SparseLinear-u.CSC": (_sparse_linear("CSC"), False),
    "SparseLinear-u.COO": (_sparse_linear("COO"), False),
    "SparseLinear-be.CSR": (_sparse_linear("be.CSR"), False),
    "SparseLinear-be.CSC": (_sparse_linear("be.CSC"), False),
    "SparseLinear-FixedNumPerPre": (_sparse_linear("FixedNumPerPre"), False),
    "SparseLinear-FixedNumPerPost": (_sparse_linear("FixedNumPerPost"), False),
    "EventLinear": (_event_linear(True), True),
    "EventLinear-values": (_event_linear(False), False),
}
#: (n_pre, n_post, seed, unit of the weights); the largest size is in the slow set (the file stays under a minute)
SIZES = [(5, 3, 7, None), (64, 100, 0, u.nS), pytest.param((300, 257, 1, u.mV), marks=pytest.mark.slow)]


def _inputs(n_pre, seed):
    """bool spikes, 0/1 float spikes, graded signed floats, integer counts, a batch of 2 bool vectors (not 3 = a
    size's n_post: brainevent's batched binary fixed-number product is wrong when the batch equals n_post)."""
    rng = np.random.default_rng(seed)
    spikes = rng.random(n_pre) < 0.3
    spikes[0] = True  # at least one event
    graded = rng.choice([-1.5, -0.25, 0., 0., 0.3, 1., 2.], size=n_pre)
    dft = brainstate.environ.dftype()
    return {"bool": jnp.asarray(spikes), "float01": jnp.asarray(spikes, dft), "graded": jnp.asarray(graded, dft),
            "int": jnp.asarray(rng.integers(-1, 3, n_pre), jnp.int32), "batch": jnp.asarray(rng.random((2, n_pre)) < 0.3)}


def _magnitude(comm, x, event):
    """sum_i |e(x_i)| sum_k |w_k| per target: the scale of the rounding allowed (from the original's dense matrix)."""
    dense = np.asarray(u.get_mantissa(_dense_of(comm)), float)
    xv = np.asarray(x, float)
    if event:
        integer = np.issubdtype(np.asarray(x).dtype, np.integer)
        rule = event_rule(dense=isinstance(comm, brainstate.nn.EventLinear), integer=integer)
        xv = (xv != 0) if rule == "nonzero" else (xv > 0)
    return np.abs(xv) @ np.abs(dense)


def _dense_of(comm):
    if isinstance(comm, brainstate.nn.EventLinear):
        return comm.weight.value
    mat = comm.conn if hasattr(comm, "conn") else comm.spar_mat
    data = comm.weight.value["weight"] if isinstance(comm, brainstate.nn.SparseLinear) else comm.weight.value
    return mat.with_data(data).todense()


def _assert_same(got, ref, scale):
    assert u.get_unit(got) == u.get_unit(ref)
    a, b = np.asarray(u.get_mantissa(got)), np.asarray(u.get_mantissa(ref))
    assert a.shape == b.shape and a.dtype == b.dtype
    bound = SUM_ORDER_RTOL * scale + np.abs(b) * 1e-12
    assert np.all(np.abs(a - b) <= bound), f"max |diff| {np.max(np.abs(a - b))} vs bound {np.min(bound)}"


@pytest.mark.parametrize("name", list(COMMS))
@pytest.mark.parametrize("size", SIZES, ids=["5x3", "64x100", "300x257"])
@pytest.mark.parametrize("per_edge", [False, True], ids=["shared", "per-edge"])
def test_adopted_comm_gives_the_originals_postsynaptic_input(name, size, per_edge, kernel_calls):
    build, event = COMMS[name]
    n_pre, n_post, seed, unit = size
    original = build(n_pre, n_post, seed, per_edge, unit)
    comm = adopt_comm(original)
    assert isinstance(comm, AdoptedComm) and comm.original is original
    assert comm.in_size[-1] == n_pre and comm.out_size[-1] == n_post
    for kind, x in _inputs(n_pre, seed).items():
        ref = original(x)
        before = len(kernel_calls)
        got = comm(x)
        assert len(kernel_calls) == before + 1, f"{kind}: the kernel was not used"
        scale = _magnitude(original, x, event)
        if isinstance(original, brainstate.nn.SparseLinear) and not per_edge:
            scale = scale + 1.  # the bias
        _assert_same(got, ref, scale)
        if event:  # the same sums in the same order as brainevent's kernels: bitwise equal
            np.testing.assert_array_equal(np.asarray(u.get_mantissa(got)), np.asarray(u.get_mantissa(ref)))


@pytest.mark.parametrize("name", ["EventFixedProb", "EventFixedNumConn-distinct"])
def test_a_batch_as_large_as_n_post_gets_the_dense_product(name):
    """brainevent's batched binary fixed-number product is wrong when the batch size equals n_post (0.2.1, 0.3.0);
    the adopted comm computes e(x) @ W exactly there (reference: the original's dense matrix)."""
    build, _ = COMMS[name]
    original = build(8, 5, 0, True, None)
    comm = adopt_comm(original)
    x = jnp.asarray(np.random.default_rng(0).random((5, 8)) < 0.5)
    dense = np.asarray(_dense_of(original), np.float64)
    np.testing.assert_allclose(np.asarray(comm(x)), np.asarray(x, np.float64) @ dense, rtol=SUM_ORDER_RTOL)


@pytest.mark.parametrize("name", ["EventFixedProb", "FixedNumConn", "SparseLinear-u.CSC", "EventLinear"])
def test_same_result_inside_a_compiled_loop(name, kernel_calls):
    build, event = COMMS[name]
    original = build(200, 150, 3, True, u.nS)
    comm = adopt_comm(original)
    xs = jnp.asarray(np.random.default_rng(3).random((20, 200)) < 0.1)
    ref = brainstate.transform.for_loop(original, xs)
    got = brainstate.transform.for_loop(comm, xs)
    assert kernel_calls
    _assert_same(got, ref, np.stack([_magnitude(original, x, event) for x in np.asarray(xs)]))


def _grads(comm, weight_state, x, g):
    """d/dw and d/dx of sum(comm(x) * g): brainstate's grad for the weight state, jax.grad for the input."""
    def loss_w():
        return (u.get_mantissa(comm(x)) * g).sum()

    dw = brainstate.transform.grad(loss_w, grad_states=weight_state)()
    dx = jax.grad(lambda v: (u.get_mantissa(comm(v)) * g).sum())(x)
    return dw, dx


def _dense_loss(comm, x, g, event):
    """sum((e(x) @ W(w)) * g) with W(w) the original's dense matrix, as a function of the weight data w."""
    e = np.asarray(x, float)
    if event:
        e = (e != 0) if event_rule(dense=isinstance(comm, brainstate.nn.EventLinear)) == "nonzero" else (e > 0)
    e = jnp.asarray(e, x.dtype)
    if isinstance(comm, brainstate.nn.EventLinear):
        return lambda w: ((e @ w) * g).sum()
    mat = comm.conn if hasattr(comm, "conn") else comm.spar_mat
    return lambda w: ((e @ mat.with_data(w).todense()) * g).sum()


def _saiunit_grad_is_wrong(name):
    """saiunit < 0.6 differentiates ``x @ u.sparse.CSR/COO`` wrongly with respect to the data (checked: 0.5.2)."""
    return name in ("SparseLinear-u.CSR", "SparseLinear-u.COO") and tuple(
        int(v) for v in u.__version__.split(".")[:2]) < (0, 6)


def _gradient_cases():
    """Per-edge weights for every comm; a shared weight for the two fixed-number comms (the rest in the slow set)."""
    for per_edge in (False, True):
        for name in COMMS:
            fast = per_edge or name in ("EventFixedProb", "FixedNumConn")
            yield pytest.param(name, per_edge, id=f"{'per-edge' if per_edge else 'shared'}-{name}",
                               marks=() if fast else pytest.mark.slow)


@pytest.mark.parametrize("name, per_edge", list(_gradient_cases()))
def test_gradients_match_the_original(name, per_edge, kernel_calls):
    """Weight gradients (through the original's own ParamState) and input gradients (W^T g, for event comms too).

    References: jax.grad of the dense product built from the original's matrix, and the original itself (except
    where saiunit's own gradient is wrong).
    """
    build, event = COMMS[name]
    original = build(64, 50, 5, per_edge, None)
    comm = adopt_comm(original)
    x = _inputs(64, 5)["float01"]
    g = jnp.asarray(np.random.default_rng(1).normal(size=50), x.dtype)
    dw_ref, dx_ref = _grads(original, original.weight, x, g)
    n = len(kernel_calls)
    dw, dx = _grads(comm, comm.weight, x, g)
    assert len(kernel_calls) > n
    data = original.weight.value
    dw_dense = jax.grad(_dense_loss(original, x, g, event))(data["weight"] if isinstance(data, dict) else data)
    dw_main = dw["weight"] if isinstance(dw, dict) else dw
    atol = SUM_ORDER_RTOL * float(np.abs(np.asarray(g)).sum())
    np.testing.assert_allclose(np.asarray(dw_main), np.asarray(dw_dense), rtol=SUM_ORDER_RTOL, atol=atol)
    if not _saiunit_grad_is_wrong(name):
        for a, b in zip(jax.tree.leaves(dw), jax.tree.leaves(dw_ref)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=SUM_ORDER_RTOL, atol=atol)
    scale = float(np.abs(np.asarray(u.get_mantissa(_dense_of(original)))).sum(axis=1).max() * np.abs(g).max())
    dx_dense = np.asarray(u.get_mantissa(_dense_of(original))) @ np.asarray(g)
    for ref in (dx_ref, dx_dense):
        np.testing.assert_allclose(np.asarray(dx), np.asarray(ref), rtol=SUM_ORDER_RTOL, atol=SUM_ORDER_RTOL * scale)
    assert np.any(np.asarray(dx) != 0) and np.any(np.asarray(dw_main) != 0)


def test_the_originals_weights_stay_the_source_of_truth():
    original = _efp(50, 40, 2, True, u.nS)
    comm = adopt_comm(original)
    assert comm.weight is original.weight and comm.conn is original.conn and comm.conn_num == original.conn_num
    x = jnp.arange(50) % 3 == 0
    original.weight.value = original.weight.value * 3.
    np.testing.assert_allclose(comm(x).to_decimal(u.nS), original(x).to_decimal(u.nS), rtol=SUM_ORDER_RTOL)


class _Net(brainstate.nn.Module):
    def __init__(self, comm):
        super().__init__()
        self.pop = lapicque.LIF(40)
        self.comm = comm

    def update(self, x):
        return self.pop(self.comm(self.pop.get_spike() != 0.) * 0. + x)


def test_state_paths_and_checkpoints_are_those_of_the_unadopted_network(tmp_path):
    """The weight is found by brainstate under the same path, and a checkpoint moves between the two networks."""
    plain, adopted = _Net(_efp(40, 40, 4, True, u.nA)), _Net(adopt_comm(_efp(40, 40, 4, True, u.nA)))
    assert isinstance(adopted.comm, AdoptedComm)
    keys = [sorted(brainstate.graph.states(net).keys()) for net in (plain, adopted)]
    assert keys[0] == keys[1] and ("comm", "weight") in keys[1]
    with brainstate.environ.context(dt=0.1 * u.ms):
        for net in (plain, adopted):
            brainstate.nn.init_all_states(net)
        path = lapicque.save(tmp_path / "plain.ckpt", plain)
        lapicque.load(path, adopted)
        lapicque.load(lapicque.save(tmp_path / "adopted.ckpt", adopted), plain)
        with pytest.raises(ValueError, match="differs"):  # another seed: other edges
            lapicque.load(path, _Net(adopt_comm(_efp(40, 40, 5, True, u.nA))))


def test_event_rule_is_brainevents():
    """The rule read from the version is the one the installed brainevent applies (a negative value decides)."""
    out = brainevent.BinaryArray(jnp.array([-1., 0.5])) @ jnp.ones((2, 1))
    assert event_rule() == ("nonzero" if float(out[0]) == 2. else "positive")
    assert float(out[0]) in (1., 2.)


def test_what_is_not_adopted_is_returned_unchanged(monkeypatch):
    class Doubled(brainstate.nn.EventFixedProb):  # a user subclass with its own update: not ours to replace
        def update(self, spk):
            return 2. * super().update(spk)

    keep = [brainstate.nn.Linear(4, 3), Doubled(20, 10, conn_num=0.2, conn_weight=1., seed=0),
            brainstate.nn.EventFixedProb(20, 10, conn_num=0.01, conn_weight=1., seed=0),  # no connection at all
            brainstate.nn.EventLinear(20, 10, 0.5),  # a scalar weight: brainstate's own reduction
            lapicque.FixedOutDegree(20, 10, 2, 1. * u.nS, seed=0), lambda x: x]
    for comm in keep:
        assert adopt_comm(comm) is comm
    adopted = adopt_comm(_efp(20, 10, 0, False, u.nS))
    assert adopt_comm(adopted) is adopted
    monkeypatch.setattr(ecosystem, "native_available", lambda: False)  # no native kernel: brainevent stays
    efp = _efp(20, 10, 0, False, u.nS)
    assert adopt_comm(efp) is efp and isinstance(adopt_comm(efp, native_only=False), AdoptedComm)


def test_inputs_the_kernel_does_not_take_go_to_the_original(kernel_calls):
    original = _fnc(20, 10, 0, True, u.nS)
    comm = adopt_comm(original)
    x = jnp.asarray(np.random.default_rng(0).random(20) < 0.5)
    for odd in (x.astype(jnp.float32) * u.mV, brainevent.BinaryArray(x)):  # a quantity, an event wrapper
        n = len(kernel_calls)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got, ref = comm(odd), original(odd)
        assert len(kernel_calls) == n
        assert u.math.allclose(got, ref)
    with pytest.raises(Exception):
        comm(jnp.zeros(7, bool))  # the original's own error for the wrong size


def test_projections_adopt_brainstate_comms():
    """Once projections.py calls adopt_comm, an EventFixedProb given to AlignPostProj runs on the native kernel."""
    from lapicque._network import projections
    if getattr(projections, "adopt_comm", None) is not adopt_comm:
        pytest.skip("projections.py does not call adopt_comm yet (issue 22, item 1)")
    post = lapicque.LIF(40)
    proj = lapicque.AlignPostProj(comm=_efp(30, 40, 1, False, u.nS), syn=lapicque.Expon.desc(40, tau=5. * u.ms),
                                  out=lapicque.COBA.desc(E=0. * u.mV), post=post)
    assert isinstance(proj.comm, AdoptedComm)


@pytest.mark.slow
def test_ei_network_spike_trains_unchanged_by_the_swap_in_float64():
    """test_ei_network.py's EINet (EventFixedProb comms), 1 s: brainevent's kernel vs lapicque's, float64."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "network" / "_ecosystem_ei.py"), "10000"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads([line for line in out.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])
    assert r["dtype"] == "float64" and r["adopted"] == [True, True] and r["plain"] == [False, False]
    assert r["kernel_calls"][0] == 0 and r["kernel_calls"][1] >= 2  # E and I traced on lapicque's kernel
    assert r["spikes"] > 10000  # ~20 Hz x 4000 neurons x 1 s
    assert r["differing"] == 0, r
