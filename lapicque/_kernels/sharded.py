r"""Networks across devices: synapses partitioned by postsynaptic neuron, spikes exchanged as bits.

In a sharded network run (``simulate(net, ..., devices=k)``) every
population is cut along its neurons into ``k`` equal blocks, one per device,
and every connectivity is cut by *postsynaptic* index: device ``d`` holds
exactly the synapses onto its own neurons, as a CSR over all presynaptic
rows and its local columns.  A step then needs one exchange per
projection: each device packs its block of the presynaptic spikes into bits,
the bits are all-gathered (``jax.lax.all_gather`` inside
:func:`jax.shard_map`), and each device propagates the full spike vector
through its local synapses.  Everything else (neurons, synapses, delay
buffers) is elementwise on the device's own block.

Bytes exchanged per step and projection: ``n_pre / 8`` for bool spikes (32
spikes to a ``uint32`` word; each device receives the other devices'
``n_pre (k - 1) / (8 k)`` bytes).  Numeric events (0/1 floats, or values
such as the fraction released by :class:`lapicque.STP`, which scale the
weights) are exchanged as numbers of the weights' dtype, 32 times as many
bytes: pass ``spikes != 0`` where the input is plain spikes.  Memory per
device: ``1/k`` of the states and of the synapses.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Dict, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from .event import event_csr_matvec, row_pointers

__all__ = ["active_mesh", "use_mesh", "partition_csr", "sharded_event_matvec", "pack_bits", "unpack_bits", "AXIS"]

#: the mesh axis along which neurons are cut
AXIS = "neuron"

_MESH: contextvars.ContextVar = contextvars.ContextVar("lapicque_network_mesh", default=None)


def active_mesh():
    """The mesh of the sharded network run being traced, or None."""
    return _MESH.get()


@contextlib.contextmanager
def use_mesh(mesh):
    """Within this block, connectivities propagate through their post-partitioned synapses on ``mesh``."""
    token = _MESH.set(mesh)
    try:
        yield
    finally:
        _MESH.reset(token)


class DeviceBlocks(dict):
    """Arrays cut along their first axis, one block per device: what :func:`sharded_event_matvec` takes.

    A module that can be cut across devices holds its blocks in one of these (see
    ``lapicque.Connectivity.partition``); a sharded run places each block on its device
    (the engine recognizes the type, not an attribute's name).
    """


def partition_csr(indptr, indices, n_post: int, k: int) -> Dict[str, np.ndarray]:
    """Cut a CSR ``(n_pre, n_post)`` by column into ``k`` equal blocks, one local CSR per block.

    Returns ``indptr`` ``(k, n_pre + 1)``, ``indices`` ``(k, m)`` (local
    column indices) and ``order`` ``(k, m)`` (position of each local entry in
    the global entry order, ``-1`` for padding), with ``m`` the largest
    block's number of entries.  Within a row, entries keep their global order,
    so every postsynaptic sum adds the same terms in the same order as the
    unpartitioned product (bitwise equal results).
    """
    indptr = np.asarray(indptr, np.int64)
    indices = np.asarray(indices, np.int64)
    n_pre = indptr.size - 1
    if n_post % k:
        raise ValueError(f"partition_csr: {n_post} targets do not divide into {k} equal blocks.")
    block = n_post // k
    rows = np.repeat(np.arange(n_pre), np.diff(indptr))
    owner = indices // block
    parts = []
    for d in range(k):
        sel = np.nonzero(owner == d)[0]  # ascending: row-major, global order within rows
        local_ptr = row_pointers(rows[sel], n_pre)
        parts.append((local_ptr, indices[sel] - d * block, sel))
    m = max(1, max(len(p[2]) for p in parts))
    out = {"indptr": np.zeros((k, n_pre + 1), np.int32), "indices": np.zeros((k, m), np.int32),
           "order": np.full((k, m), -1, np.int32)}
    for d, (ptr, idx, sel) in enumerate(parts):
        out["indptr"][d] = ptr
        out["indices"][d, :idx.size] = idx
        out["order"][d, :sel.size] = sel
    return out


def _local_weights(data, order):
    """The weights of one device's entries (a shared weight stays shared)."""
    if data.shape[0] == 1:
        return data
    return jnp.where(order >= 0, data[jnp.maximum(order, 0)], jnp.zeros((), data.dtype))


def sharded_event_matvec(spikes, shards, data, n_post: int, mesh):
    """``spikes @ W`` with ``spikes`` cut along neurons and ``W`` cut by column: one all-gather of bits per call.

    Parameters
    ----------
    spikes : array, shape (n_pre,)
        This step's presynaptic events, cut along ``'neuron'``: bool spikes
        (exchanged as bits) or numbers (0/1 spikes or values that scale the
        weights, exchanged as the weights' dtype).
    shards : dict
        :func:`partition_csr`'s arrays as JAX arrays, cut along their first axis.
    data : array, shape (1,) or (nnz,)
        Shared weight or one weight per global entry.
    n_post : int
    mesh : jax.sharding.Mesh
    """
    n_pre = shards["indptr"].shape[1] - 1
    k = mesh.shape[AXIS]
    # the exchange: the presynaptic spikes as bits (32 to a word: n_pre / 8 bytes; event values as numbers), made
    # whole on every device by one all-gather wherever they lie (a slice of a population need not line up with the
    # devices' blocks)
    binary = spikes.dtype == jnp.bool_
    payload = pack_bits(spikes) if binary else spikes.astype(data.dtype)

    def local(b, indptr, indices, order, w):
        full = unpack_bits(b, n_pre) if binary else b
        return event_csr_matvec(full, indptr[0], indices[0], _local_weights(w, order[0]), n_post // k)

    fn = _shard_map(local, mesh, in_specs=(P(), P(AXIS), P(AXIS), P(AXIS), P()), out_specs=P(AXIS))
    return fn(payload, shards["indptr"], shards["indices"], shards["order"], data)


_SHIFTS = np.arange(32, dtype=np.uint32)


def pack_bits(s):
    """Bool ``(n,)`` -> ``uint32`` words, 32 spikes to a word (bit ``j`` of word ``i`` is spike ``32 i + j``).

    Written out (rather than ``jnp.packbits``) so that what crosses devices is
    the words themselves: XLA's packbits sums in 32-bit lanes before it
    narrows to bytes, and the partitioner gathers those lanes.
    """
    n = s.shape[-1]
    pad = -n % 32
    if pad:
        s = jnp.concatenate([s, jnp.zeros(s.shape[:-1] + (pad,), bool)], axis=-1)
    s = s.reshape(s.shape[:-1] + (-1, 32)).astype(jnp.uint32)
    return jnp.sum(s << _SHIFTS, axis=-1, dtype=jnp.uint32)


def unpack_bits(words, n: int):
    """Inverse of :func:`pack_bits`: ``(n,)`` bools."""
    bits = (words[..., :, None] >> _SHIFTS) & jnp.uint32(1)
    return bits.reshape(words.shape[:-1] + (-1,))[..., :n].astype(bool)


def _shard_map(f, mesh, in_specs, out_specs):
    try:
        return jax.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)
    except (AttributeError, TypeError):  # pragma: no cover - older jax
        from jax.experimental.shard_map import shard_map
        return shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=False)


def population_sizes(pops, k: int, where: str = "simulate") -> Optional[set]:
    """The neuron-axis lengths of a network's populations; an error unless ``k`` devices divide each."""
    sizes = set()
    for p in pops:
        n = p.shape[-1]
        if n % k:
            raise ValueError(
                f"{where}: population '{p.name}' has {n} neurons, which {k} devices do not divide. A sharded network "
                f"cuts every population into equal blocks (no padding, so no padded neuron can ever spike into a "
                f"projection); use a size the devices divide.")
        sizes.add(n)
    return sizes
