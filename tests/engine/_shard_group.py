"""The multi-device checks of ``test_sharding.py``: one neuron group cut over several CPU devices.

Run by the test (through ``_procs.py``), or by hand from the repository root::

    python tests/engine/_shard_group.py four                     # 4 CPU devices in this process
    python tests/engine/_shard_group.py host localhost:12345 0   # with ... 1 in a second shell: 2 x 2 devices

Each mode prints one ``RESULT <json>`` line; the test asserts on its fields.  JAX gets its CPU devices
from ``XLA_FLAGS`` when it starts, so the flag is set here (if the caller did not) before JAX is imported.
"""

import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: registry

T0 = time.time()


def lap(what):
    print(f"{what}: {time.time() - T0:.1f} s", file=sys.stderr)


def cpu_devices(n):
    """Ask JAX for ``n`` CPU devices unless XLA_FLAGS already says how many (call before importing jax)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def mant(x):
    import numpy as np
    import saiunit as u
    return np.asarray(u.get_mantissa(x), dtype=np.float64)


def compare(a, b, names=()):
    """Fields comparing an unsharded result ``a`` with a sharded one ``b``: spikes, counts, traces, final V."""
    import numpy as np
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


def four():
    """Every check on the 4 devices of this process."""
    cpu_devices(4)
    import jax
    import jax.numpy as jnp
    import numpy as np
    import saiunit as u

    import lapicque as lq
    from lapicque import sharding
    from registry import SPIKING_CURRENT_MA

    out = {"devices": len(jax.devices())}
    rng = np.random.default_rng(0)

    # 1. every model, uneven N (203 = 4 * 50 + 3), per-neuron tau, initial V and current
    N, T = 203, 300
    models = {}
    for name, cls in lq.MODELS.items():
        tau = cls(1).tau * rng.uniform(0.8, 1.2, N)
        probe = cls(1)
        probe.init_state()
        V0 = probe.V.value - rng.uniform(0., 2., N) * u.mV
        I = SPIKING_CURRENT_MA[name] * rng.uniform(0.6, 1.4, N) * u.mA
        names = probe.state_names()
        a = lq.simulate(cls(N, tau=tau, V_initializer=V0), I, T * 0.1 * u.ms, record=names)
        b = lq.simulate(cls(N, tau=tau, V_initializer=V0), I, T * 0.1 * u.ms, record=names, devices=4)
        models[name] = compare(a, b, names)
    out["models"] = models
    lap("models")

    # 2. a 2 x 2 (batch, neuron) mesh, uneven batch (3) and N (37), current over time, decimated traces
    mesh = jax.make_mesh((2, 2), ("batch", "neuron"))
    batch = {}
    for name in ("GifRef",):
        cls = lq.MODELS[name]
        I = SPIKING_CURRENT_MA[name] * rng.uniform(0.5, 1.5, (300, 3, 37)) * u.mA
        names = cls(1).state_names()
        a = lq.simulate(cls(37), I, 30 * u.ms, record=names, record_every=7, batch_size=3)
        b = lq.simulate(cls(37), I, 30 * u.ms, record=names, record_every=7, batch_size=3, devices=mesh)
        batch[name] = compare(a, b, names)
    out["batch"] = batch
    lap("batch")

    # 3. a current function closing over a per-neuron array, spike counts only
    I = np.linspace(0., 6., 101) * u.mA

    def f(t):
        return I * (t >= 5 * u.ms)
    a = lq.simulate(lq.LIFRef(101), f, 50 * u.ms, spikes="count", count_from=10 * u.ms)
    b = lq.simulate(lq.LIFRef(101), f, 50 * u.ms, spikes="count", count_from=10 * u.ms, devices=4)
    out["count_fn"] = {
        "counts": bool(np.array_equal(a.spike_count, b.spike_count)), "n": int(a.spike_count.sum()),
        "first": bool(np.array_equal(a.first_spike_time.mantissa, b.first_spike_time.mantissa, equal_nan=True)),
        "last": bool(np.array_equal(a.last_spike_time.mantissa, b.last_spike_time.mantissa, equal_nan=True))}
    lap("count_fn")

    # 4. the result does not depend on the number of devices (bit for bit)
    I = np.linspace(0., 6., 1000) * u.mA
    runs = [lq.simulate(lq.ALIF(1000, tau=np.linspace(5., 20., 1000) * u.ms), I, 20 * u.ms, record=("V", "a"),
                        devices=d)
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
        "spikes": bool(np.array_equal(np.concatenate([first.spike_raster(), second.spike_raster()]),
                                      whole.spike_raster())),
        "V": float(np.max(np.abs(np.concatenate([first.traces["V"].mantissa, second.traces["V"].mantissa])
                                 - whole.traces["V"].mantissa)))}
    lap("continue")

    # 7. an even N stays cut across the devices after the run; the per-device program never holds all neurons
    m = lq.LIF(1024, tau=np.linspace(5., 20., 1024) * u.ms)
    lq.simulate(m, np.linspace(0., 6., 1024) * u.mA, 5 * u.ms, devices=4)
    out["final_spec"] = m.V.value.mantissa.sharding.spec == jax.sharding.PartitionSpec("neuron")
    out["final_devices"] = len(m.V.value.mantissa.sharding.device_set)
    hlo = sharding.compiled_text(
        lq.AdExIFRef(1000, tau=np.linspace(5., 20., 1000) * u.ms,
                     V_initializer=np.linspace(-70., -66., 1000) * u.mV),
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
        except Exception as e:  # noqa: BLE001 - the test asserts on the type and message
            errors[key] = f"{type(e).__name__}: {e}"
    out["errors"] = errors
    lap("end")
    return out


def host(address, process_id):
    """One of two processes ("hosts") with two CPU devices each, through jax.distributed."""
    cpu_devices(2)
    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU collectives across processes
    jax.distributed.initialize(address, num_processes=2, process_id=process_id)
    import numpy as np
    import saiunit as u

    import lapicque as lq

    out = {"process": jax.process_index(), "devices": len(jax.devices()), "local": len(jax.local_devices())}
    N = 1001
    I = np.linspace(0., 36., N) * u.mA
    tau = np.linspace(5., 20., N) * u.ms
    a = lq.simulate(lq.AdExIFRef(N, tau=tau), I, 20 * u.ms, record=("V", "w"))  # this process alone
    m = lq.AdExIFRef(N, tau=tau)
    b = lq.simulate(m, I, 20 * u.ms, record=("V", "w"), devices=jax.devices())  # all 4 devices, 2 processes
    out.update(spikes=bool(np.array_equal(a.spike_raster(), b.spike_raster())), n=int(a.spike_count.sum()),
               V=float(np.max(np.abs(a.traces["V"].mantissa - b.traces["V"].mantissa))), final=list(m.V.value.shape))
    # an even N stays spread over both processes; continuing from it works
    m = lq.LIF(1024)
    c = lq.simulate(m, np.linspace(0., 6., 1024) * u.mA, 20 * u.ms, devices=4, spikes="count")
    d = lq.simulate(m, np.linspace(0., 6., 1024) * u.mA, 20 * u.ms, devices=4, init=False, t0=c.t_end)
    e = lq.simulate(lq.LIF(1024), np.linspace(0., 6., 1024) * u.mA, 40 * u.ms)
    out.update(global_state=not m.V.value.mantissa.is_fully_addressable,
               counts=bool(np.array_equal(c.spike_count + d.spike_count, e.spike_count)))
    return out


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
