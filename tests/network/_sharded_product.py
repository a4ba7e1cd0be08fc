"""The check of ``test_stp_events.py::test_sharded_product_delivers_event_values`` on 2 CPU devices.

JAX gets its CPU devices from ``XLA_FLAGS`` when it starts, so this runs in a process of its own (the
flag is set here before JAX is imported, if the caller did not).  By hand, from the repository root::

    python tests/network/_sharded_product.py

It multiplies event values (floats) and bool spikes by a random CSR matrix whose columns are cut over
2 devices, and prints one ``RESULT <json>`` line: for each input whether the sharded product equals the
dense float64 ``x @ W`` and, bit for bit, the one-device kernel; and the number of devices.
"""

import json
import os

flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in flags:
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=2".strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

from lapicque._kernels.event import event_csr_matvec  # noqa: E402
from lapicque._kernels.sharded import AXIS, partition_csr, sharded_event_matvec  # noqa: E402


def main():
    rng = np.random.default_rng(0)
    n_pre, n_post = 40, 30
    indptr = np.concatenate([[0], np.cumsum(rng.poisson(5, n_pre))]).astype(np.int32)
    indices = rng.integers(0, n_post, indptr[-1]).astype(np.int32)
    w = jnp.asarray(rng.normal(size=indices.size).astype(np.float32))
    mesh = Mesh(np.array(jax.devices()[:2]), (AXIS,))
    shards = {k: jax.device_put(jnp.asarray(v), NamedSharding(mesh, P(AXIS))) for k, v in
              partition_csr(indptr, indices, n_post, 2).items()}
    values = (rng.random(n_pre) < 0.4) * rng.choice([1., 0.5, 0.125, 2.], n_pre)
    dense = np.zeros((n_pre, n_post))
    np.add.at(dense, (np.repeat(np.arange(n_pre), np.diff(indptr)), indices), np.asarray(w, np.float64))
    out = {}
    for name, x in (("values", values.astype(np.float32)), ("bool", values > 0)):
        ref = np.asarray(x, np.float64) @ dense
        x = jax.device_put(jnp.asarray(x), NamedSharding(mesh, P(AXIS)))
        got = np.asarray(jax.jit(lambda x: sharded_event_matvec(x, shards, w, n_post, mesh))(x))
        out[name] = bool(np.allclose(got, ref, rtol=1e-5, atol=1e-5)
                         and np.array_equal(got, np.asarray(event_csr_matvec(x, indptr, indices, w, n_post))))
    out["devices"] = len(jax.devices())
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
