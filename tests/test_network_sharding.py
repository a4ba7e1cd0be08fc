"""simulate(network, devices=...): populations cut along neurons, synapses by postsynaptic block, spikes exchanged.

Multi-device checks run in subprocesses (the flag that gives JAX several CPU devices must be set before JAX
starts): one with 4 devices, and two processes with 2 devices each through jax.distributed.
"""


import numpy as np
import pytest

from _procs import run_four_and_two_hosts

FOUR = r'''
import json, re, sys
sys.path.insert(0, "tests")
import numpy as np, saiunit as u, jax
import lapicque as lq
from lapicque import sharding
from _ei_shard_net import EINet, same_start

out = {"devices": len(jax.devices())}
for name, delay in (("one_step", 0.1 * u.ms), ("several_steps", 2.5 * u.ms)):
    a, b, net = same_start(delay, devices=4, record=("E.V", "EE.syn.g"))
    out[name] = {"n": [int(a[p].spike_count.sum()) for p in a],
                 "spikes": all(np.array_equal(a[p].spike_raster(), b[p].spike_raster()) for p in a),
                 "traces": float(max(np.max(np.abs(np.asarray(a.traces[t].mantissa) - np.asarray(b.traces[t].mantissa)))
                                     for t in a.traces)),
                 "state_spec": list(net.E.V.value.mantissa.sharding.spec),
                 "state_shards": [int(s.data.shape[0]) for s in net.E.V.value.mantissa.addressable_shards]}
    hlo = sharding.compiled_text(net, None, 10 * u.ms, devices=4)
    body = [l for l in hlo.splitlines() if re.search(r"\b(all-gather|all-reduce|collective-permute|all-to-all|"
                                                        r"reduce-scatter)(-start)?\(", l)]
    out[name]["collectives"] = sharding.collectives(hlo)
    out[name]["all_gathers"] = sum("all-gather(" in l or "all-gather-start(" in l for l in body)
    out[name]["gathered_words"] = sorted(re.findall(r"= (\w+\[\d+\])\S* all-gather(?:-start)?\(", hlo))
a, b, net = same_start(0.1 * u.ms, devices=4, spikes="count")
out["count"] = all(np.array_equal(a[p].spike_count, b[p].spike_count) for p in a)
# a checkpoint of the sharded network's state loads into a fresh network, value for value
import os, tempfile
path = lq.save(os.path.join(tempfile.mkdtemp(), "net.ckpt"), net)
fresh = EINet()
import brainstate
brainstate.nn.init_all_states(fresh)
lq.load(path, fresh)
out["checkpoint"] = all(np.array_equal(np.asarray(u.get_mantissa(v.value)),
                                       np.asarray(u.get_mantissa(fresh.states()[k].value)))
                        for k, v in net.states().items())
try:
    fused = EINet()
    fused.both = lq.FusedProj(fused.EE, fused.EI)
    lq.simulate(fused, None, 1 * u.ms, devices=4)
    out["fused"] = "no error"
except ValueError as e:
    out["fused"] = str(e)
try:
    lq.simulate(EINet(n_e=770, n_i=254), None, 1 * u.ms, devices=4)
    out["uneven"] = "no error"
except ValueError as e:
    out["uneven"] = str(e)
print("RESULT " + json.dumps(out))
'''

TWO_HOSTS = r'''
import json, sys
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(sys.argv[1], num_processes=2, process_id=int(sys.argv[2]))
sys.path.insert(0, "tests")
import numpy as np, saiunit as u
from _ei_shard_net import same_start
a, b, net = same_start(2.5 * u.ms, devices=jax.devices())
print("RESULT " + json.dumps({"devices": len(jax.devices()), "n": int(sum(a[p].spike_count.sum() for p in a)),
                              "spikes": all(np.array_equal(a[p].spike_raster(), b[p].spike_raster()) for p in a)}),
      flush=True)
'''


@pytest.fixture(scope="module")
def runs():
    return run_four_and_two_hosts(FOUR, TWO_HOSTS)


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
    from lapicque._netshard import pack_bits, unpack_bits
    rng = np.random.default_rng(0)
    for n in (1, 31, 32, 33, 768):
        s = rng.random(n) < 0.3
        words = pack_bits(jnp.asarray(s))
        assert words.dtype == jnp.uint32 and words.shape == (-(-n // 32),)
        np.testing.assert_array_equal(np.asarray(unpack_bits(words, n)), s)


def test_partition_keeps_every_synapse_once():
    from lapicque._netshard import partition_csr
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
