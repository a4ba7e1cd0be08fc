"""simulate(network, devices=...): populations cut along neurons, synapses by postsynaptic block, spikes exchanged.

Multi-device checks run in subprocesses (the flag that gives JAX several CPU devices must be set before JAX
starts), the script ``_shard_network.py`` beside this file: one with 4 devices, and two processes with 2 devices
each through jax.distributed.
"""

import numpy as np
import pytest

from _procs import run_four_and_two_hosts


@pytest.fixture(scope="module")
def runs():
    return run_four_and_two_hosts("_shard_network.py")


@pytest.mark.parametrize("case", ["one_step", "several_steps"])
def test_sharded_network_equals_single_device_run(runs, case):
    r = runs["four"]
    assert "error" not in r, r.get("error")
    assert r["devices"] == 4
    c = r[case]
    assert min(c["n"]) > 100, "both populations should fire"
    assert c["spikes"], "spike trains differ from the single-device run"
    assert c["traces"] == 0.0, "recorded traces differ"
    assert c["state_spec"] == ["neuron"] and c["state_shards"] == [192] * 4


@pytest.mark.parametrize("case", ["one_step", "several_steps"])
def test_the_only_collective_is_one_all_gather_of_spike_bits_per_projection(runs, case):
    c = runs["four"][case]
    assert c["collectives"] == ["all-gather"]
    assert c["all_gathers"] == 4  # EE, EI, IE, II: the presynaptic spikes, as bits
    assert c["gathered_words"] == ["u32[24]", "u32[24]", "u32[8]", "u32[8]"]  # 768 / 32 (E), 256 / 32 (I)


def test_count_mode_checkpoint_and_clear_errors(runs):
    r = runs["four"]
    assert r["count"]
    assert "population 'E' has 770 neurons, which 4 devices do not divide" in r["uneven"]
    assert "FusedProj" in r["fused"]
    assert r["checkpoint"]


def test_two_processes_through_jax_distributed(runs):
    for i in range(2):
        r = runs[f"host{i}"]
        assert "error" not in r, r.get("error")
        assert r["devices"] == 4 and r["n"] > 100 and r["spikes"]


def test_spike_bits_round_trip():
    import jax.numpy as jnp
    from lapicque._kernels.sharded import pack_bits, unpack_bits
    rng = np.random.default_rng(0)
    for n in (1, 31, 32, 33, 768):
        s = rng.random(n) < 0.3
        words = pack_bits(jnp.asarray(s))
        assert words.dtype == jnp.uint32 and words.shape == (-(-n // 32),)
        np.testing.assert_array_equal(np.asarray(unpack_bits(words, n)), s)


def test_partition_keeps_every_synapse_once():
    from lapicque._kernels.sharded import partition_csr
    rng = np.random.default_rng(3)
    pre, post = rng.integers(0, 30, 500), rng.integers(0, 40, 500)
    order = np.argsort(pre, kind="stable")
    pre, post = pre[order], post[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=30))])
    parts = partition_csr(indptr, post, 40, 4)
    got = []
    for d in range(4):
        rows = np.repeat(np.arange(30), np.diff(parts["indptr"][d]))
        n = parts["indptr"][d][-1]
        assert np.all(parts["order"][d, n:] == -1) and np.all(parts["order"][d, :n] >= 0)
        got += list(zip(rows, parts["indices"][d, :n] + 10 * d, parts["order"][d, :n]))
    assert sorted(e for _, _, e in got) == list(range(500))
    assert all(pre[e] == r and post[e] == c for r, c, e in got)
