"""The multi-device checks of ``test_network_sharding.py``: the E/I network of ``_ei_shard_net.py`` cut over devices.

Run by the test (through ``_procs.py``), or by hand from the repository root::

    python tests/engine/_shard_network.py four                     # 4 CPU devices in this process
    python tests/engine/_shard_network.py host localhost:12345 0   # with ... 1 in a second shell: 2 x 2 devices

Each mode prints one ``RESULT <json>`` line; the test asserts on its fields.  JAX gets its CPU devices
from ``XLA_FLAGS`` when it starts, so the flag is set here (if the caller did not) before JAX is imported.
"""

import json
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared E/I network


def cpu_devices(n):
    """Ask JAX for ``n`` CPU devices unless XLA_FLAGS already says how many (call before importing jax)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def four():
    """Sharded vs single-device runs, the compiled program's collectives, checkpoints and errors on 4 devices."""
    cpu_devices(4)
    import brainstate
    import jax
    import numpy as np
    import saiunit as u

    import lapicque as lq
    from lapicque import sharding
    from _ei_shard_net import EINet, same_start  # in tests/

    out = {"devices": len(jax.devices())}
    for name, delay in (("one_step", 0.1 * u.ms), ("several_steps", 2.5 * u.ms)):
        a, b, net = same_start(delay, devices=4, record=("E.V", "EE.syn.g"))
        out[name] = {"n": [int(a[p].spike_count.sum()) for p in a],
                     "spikes": all(np.array_equal(a[p].spike_raster(), b[p].spike_raster()) for p in a),
                     "traces": float(max(np.max(np.abs(np.asarray(a.traces[t].mantissa)
                                                       - np.asarray(b.traces[t].mantissa)))
                                         for t in a.traces)),
                     "state_spec": list(net.E.V.value.mantissa.sharding.spec),
                     "state_shards": [int(s.data.shape[0]) for s in net.E.V.value.mantissa.addressable_shards]}
        hlo = sharding.compiled_text(net, None, 10 * u.ms, devices=4)
        body = [line for line in hlo.splitlines()
                if re.search(r"\b(all-gather|all-reduce|collective-permute|all-to-all|reduce-scatter)(-start)?\(",
                             line)]
        out[name]["collectives"] = sharding.collectives(hlo)
        out[name]["all_gathers"] = sum("all-gather(" in line or "all-gather-start(" in line for line in body)
        out[name]["gathered_words"] = sorted(re.findall(r"= (\w+\[\d+\])\S* all-gather(?:-start)?\(", hlo))
    a, b, net = same_start(0.1 * u.ms, devices=4, spikes="count")
    out["count"] = all(np.array_equal(a[p].spike_count, b[p].spike_count) for p in a)
    # a checkpoint of the sharded network's state loads into a fresh network, value for value
    path = lq.save(os.path.join(tempfile.mkdtemp(), "net.ckpt"), net)
    fresh = EINet()
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
    return out


def host(address, process_id):
    """One of two processes ("hosts") with two CPU devices each, through jax.distributed."""
    cpu_devices(2)
    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU collectives across processes
    jax.distributed.initialize(address, num_processes=2, process_id=process_id)
    import numpy as np
    import saiunit as u

    from _ei_shard_net import same_start  # in tests/

    a, b, net = same_start(2.5 * u.ms, devices=jax.devices())
    return {"devices": len(jax.devices()), "n": int(sum(a[p].spike_count.sum() for p in a)),
            "spikes": all(np.array_equal(a[p].spike_raster(), b[p].spike_raster()) for p in a)}


def main(argv):
    if argv[:1] == ["four"] and len(argv) == 1:
        out = four()
    elif argv[:1] == ["host"] and len(argv) == 3:
        out = host(argv[1], int(argv[2]))
    else:
        sys.exit(f"usage: {sys.argv[0]} four | host ADDRESS PROCESS_ID")
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
