"""Where a run's arrays live: one device, or cut across a mesh (see :mod:`lapicque.sharding`).

A layout is the one place that differs between a run on one device and a sharded run:
the loop, the recording and the results are written once and ask the layout what
:class:`Layout` lists.  Three implement it: :class:`SingleDevice`, :class:`Sharded`
(one population cut along its neurons, no communication) and :class:`ShardedNetwork`
(every population in blocks, synapses by postsynaptic block).

A module of the network takes part through one public protocol, never through its
private attributes: a module that can be cut across devices has ``partition(k)``
(``partition(None)`` undoes it) and keeps the arrays it cut in a
:class:`~lapicque._kernels.sharded.DeviceBlocks`, which :meth:`Layout.place` lays out
one block per device.
"""

from __future__ import annotations

from typing import Any, List, Protocol, Sequence, Tuple

import contextlib

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._kernels import sharded as _netshard
from . import shardplan as _sharding

__all__ = ["Layout", "SingleDevice", "Sharded", "ShardedNetwork", "init_or_reset", "init_on_host", "map_arrays"]


def map_arrays(fn, value):
    """Apply ``fn`` to the arrays of a value (a Quantity keeps its unit)."""
    def leaf(x):
        if isinstance(x, u.Quantity):
            return u.Quantity(fn(x.mantissa), unit=x.unit)
        if isinstance(x, (jax.Array, np.ndarray, np.generic)):
            return fn(x)
        return x
    return jax.tree.map(leaf, value, is_leaf=lambda x: isinstance(x, u.Quantity))


def init_or_reset(model, batch_size):
    """Initial state values, keeping the existing State objects when their layout is unchanged.

    Keeping the objects keeps references that users (and projections) hold
    valid; a new layout creates new states via ``init_state``.
    """
    want = (tuple(model.varshape) if batch_size is None else (batch_size,) + tuple(model.varshape)) \
        if hasattr(model, "varshape") else None
    V = getattr(model, "V", None)
    if (want is not None and isinstance(V, brainstate.State) and hasattr(model, "reset_state")
            and tuple(jnp.shape(u.get_mantissa(V.value))) == want):
        model.reset_state(batch_size)
    elif hasattr(model, "varshape") and hasattr(model, "init_state") and not model.states():
        model.init_state(batch_size)
    else:
        brainstate.nn.init_all_states(model, batch_size)


def init_on_host(model, batch_size):
    """Initial states built in host memory: the whole population never sits on one accelerator."""
    with _sharding.host_default_device():
        init_or_reset(model, batch_size)


class Layout(Protocol):
    """What the engine asks of a layout (every hook of :class:`SingleDevice` and the sharded layouts)."""

    #: part of the cache key: equal keys lay a program's arguments out alike
    key: Any
    #: whether the arrays are cut across several devices (spikes are then always stored as bits)
    is_sharded: bool

    def attach(self, model) -> None:
        """Before the tree is seen: let modules prepare for the layout (``partition(k)``)."""

    def detach(self, model) -> None:
        """After the run: undo :meth:`attach`."""

    def place(self, tree) -> Tuple[list, list]:
        """The state values and lifted arrays of ``tree`` as the compiled program takes them."""

    def place_input(self, mantissa, lead: int):
        """The input current (mA mantissa; ``lead`` leading time axes) as the program takes it."""

    def place_extras(self, values: List[Any]) -> List[Any]:
        """The States outside the tree the step touches (the global random key): replicated where cut."""

    def extras_back(self, values: List[Any]) -> List[Any]:
        """Those States' new values, back on the default device."""

    def tracing(self):
        """A context entered while the program is traced (the mesh the network layer reads)."""

    def loop_shape(self, shape) -> Tuple[int, ...]:
        """The shape of a population's per-neuron arrays inside the loop (padded where cut)."""

    def pad_input(self, x):
        """A current computed inside the loop (a function of time), padded as the states are."""

    def keep(self, x, lead: int = 0):
        """Constrain a value inside the loop to stay where it is."""

    def keep_states(self, tree) -> None:
        """Constrain every state of ``tree`` after a step."""

    def spike_bits(self, s, n_neurons: int, packed: bool):
        """One step's spikes as what is stored (bits packed 8 to a byte, or bools)."""

    def gather(self, x):
        """A recorded array brought to the host (every process's part)."""

    def unpad(self, x, lead: int = 0, packed: bool = False):
        """A gathered array without the padding of a cut population."""

    def packed_rows(self, raster, shape, n_steps):
        """Packed spike bits in the layout :class:`~lapicque.SimulationResult` reads."""

    def finish(self, tree) -> None:
        """After the run: the final states without the padding."""


class SingleDevice:
    """Everything on the default device; spikes packed into one row of bits per step (a :class:`Layout`)."""

    key = "single"
    is_sharded = False

    def place(self, tree) -> Tuple[list, list]:
        return tree.state_values(), tree.param_values()

    def place_input(self, mantissa, lead: int):
        return jnp.asarray(mantissa, dtype=brainstate.environ.dftype())

    def loop_shape(self, shape):
        return tuple(shape)

    def pad_input(self, x):
        return x

    def keep(self, x, lead: int = 0):
        return x

    def keep_states(self, tree):
        return None

    def spike_bits(self, s, n_neurons: int, packed: bool):
        s = jnp.reshape(s, (n_neurons,))
        return jnp.packbits(s) if packed else s

    def gather(self, x):
        return np.asarray(x)

    def unpad(self, x, lead: int = 0, packed: bool = False):
        return x

    def finish(self, tree):
        return None

    def place_extras(self, values):
        return values

    def extras_back(self, values):
        return values

    def packed_rows(self, raster, shape, n_steps):
        """Packed spike bits in the layout :class:`SimulationResult` reads."""
        return raster

    def tracing(self):
        return contextlib.nullcontext()

    def attach(self, model):
        return None

    def detach(self, model):
        return None


class _Replicated:
    """The extras of a sharded run: replicated on every device of the mesh, brought back to the default device."""

    mesh = None

    def place_extras(self, values):
        from jax.sharding import NamedSharding, PartitionSpec
        return [map_keys(lambda a: _replicate(a, NamedSharding(self.mesh, PartitionSpec())), v) for v in values]

    def extras_back(self, values):
        return [map_keys(_local_copy, v) for v in values]


def map_keys(fn, value):
    """Apply ``fn`` to the arrays of a value; typed random keys go through their raw data and back."""
    def leaf(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(fn(jax.random.key_data(x)), impl=jax.random.key_impl(x))
        return fn(x) if isinstance(x, (jax.Array, np.ndarray)) else x
    return jax.tree.map(leaf, value)


def _replicate(x, sharding):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return x
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])


def _local_copy(x):
    """One device's copy of a replicated array, as an ordinary (uncommitted) array of the default device."""
    if isinstance(x, jax.Array) and len(x.addressable_shards) and x.addressable_shards[0].data.shape == x.shape:
        return jnp.asarray(np.asarray(x.addressable_shards[0].data))
    return x


class Sharded(_Replicated, SingleDevice):
    """One population cut along its neuron (and batch) axis across a device mesh, no communication."""

    is_sharded = True

    def __init__(self, devices, shape: Sequence[int], batched: bool):
        self.mesh = mesh = _sharding.make_mesh(devices)
        self.plan = _sharding.ShardPlan(mesh, shape, batched)
        self.key = ("sharded", repr(self.plan), tuple(d.id for d in mesh.devices.flat))

    def place(self, tree):
        plan = self.plan
        tree.write_states([map_arrays(plan.place, v) for v in tree.state_values()])
        params = [map_arrays(plan.place, leaf) if plan.aligned(np.shape(leaf)) else leaf
                  for leaf in tree.param_values()]
        return tree.state_values(), params

    def place_input(self, mantissa, lead: int):
        return self.plan.place(_host_or_global(mantissa), lead=lead)

    def loop_shape(self, shape):
        return self.plan.padded

    def pad_input(self, x):
        return map_arrays(self.plan.pad_traced, x) if self.plan.is_padded else x

    def keep(self, x, lead: int = 0):
        return self.plan.constrain(x, lead)

    def keep_states(self, tree):
        for st in tree.states:
            st.value = map_arrays(self.plan.constrain, st.value)

    def spike_bits(self, s, n_neurons: int, packed: bool):
        plan = self.plan
        s = jnp.reshape(s, plan.padded)
        if plan.padded[-1] != plan.shape[-1]:  # padded neurons never spike (an iota, not a constant)
            s = jnp.logical_and(s, jnp.arange(plan.padded[-1]) < plan.shape[-1])
        return plan.packed_constrain(jnp.packbits(s, axis=-1))

    def gather(self, x):
        return self.plan.gather(x)

    def unpad(self, x, lead: int = 0, packed: bool = False):
        return x[self.plan.unpad_index(np.ndim(x), lead=lead, packed=packed)]

    def finish(self, tree):
        tree.write_states([map_arrays(self.plan.unpad_state, v) for v in tree.state_values()])

    def packed_rows(self, raster, shape, n_steps):
        rows = int(np.prod(shape[:-1], dtype=np.int64))
        return np.ascontiguousarray(raster).reshape(n_steps, rows, raster.shape[-1])


class ShardedNetwork(_Replicated, SingleDevice):
    """A network cut along its neurons: every population in equal blocks, synapses by postsynaptic block.

    The only exchange per step is the all-gather of each projection's
    presynaptic spike bits (see :mod:`lapicque._kernels.sharded`).
    """

    is_sharded = True

    def __init__(self, devices, pops):
        self.mesh = _sharding.make_mesh(devices)
        if tuple(self.mesh.axis_names) != (_netshard.AXIS,):
            raise ValueError("simulate: a network is cut along its neurons only; pass devices=k, a device list, or "
                             "a Mesh with the single axis 'neuron'.")
        self.k = int(self.mesh.devices.size)
        self.sizes = _netshard.population_sizes(pops, self.k)
        self.key = ("network", tuple(d.id for d in self.mesh.devices.flat))

    def _spec(self, shape, lead_blocks: bool = False):
        from jax.sharding import PartitionSpec
        if lead_blocks:
            return PartitionSpec(_netshard.AXIS, *([None] * (len(shape) - 1)))
        if len(shape) and shape[-1] in self.sizes:
            return PartitionSpec(*([None] * (len(shape) - 1)), _netshard.AXIS)
        return PartitionSpec()

    def _put(self, x, lead_blocks: bool = False):
        from jax.sharding import NamedSharding
        sharding = NamedSharding(self.mesh, self._spec(np.shape(x), lead_blocks))
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return jax.device_put(x, sharding)
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])

    def attach(self, model):
        from .._network.projections import FusedProj
        nodes = [node for _, node in model.nodes().items()]
        fused = [node for node in nodes if isinstance(node, FusedProj)]
        if fused:
            raise ValueError("simulate: FusedProj stacks its projections into one matrix, which is not cut across "
                             "devices; call the projections one by one in a sharded network.")
        for node in nodes:
            if callable(getattr(node, "partition", None)):
                node.partition(self.k)

    def detach(self, model):
        for _, node in model.nodes().items():
            if callable(getattr(node, "partition", None)):
                node.partition(None)

    def place(self, tree):
        tree.write_states([map_arrays(self._put, v) for v in tree.state_values()])
        params = [self._put(leaf, blocks) for blocks, leaf in zip(tree.param_blocks(), tree.param_values())]
        return tree.state_values(), params

    def place_input(self, mantissa, lead: int):
        return self._put(np.asarray(mantissa, dtype=brainstate.environ.dftype()))

    def keep(self, x, lead: int = 0):
        from jax.sharding import NamedSharding
        spec = self._spec(jnp.shape(x))
        return jax.lax.with_sharding_constraint(x, NamedSharding(self.mesh, spec)) if len(spec) else x

    def keep_states(self, tree):
        for st in tree.states:
            st.value = map_arrays(self.keep, st.value)

    def spike_bits(self, s, n_neurons: int, packed: bool):
        s = self.keep(jnp.reshape(s, (n_neurons,)))
        return self.keep_bytes(jnp.packbits(s)) if (n_neurons // self.k) % 8 == 0 else s

    def keep_bytes(self, x):
        from jax.sharding import NamedSharding, PartitionSpec
        return jax.lax.with_sharding_constraint(x, NamedSharding(self.mesh, PartitionSpec(_netshard.AXIS)))

    def gather(self, x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            from jax.experimental import multihost_utils
            x = multihost_utils.process_allgather(x, tiled=True)
        return np.asarray(x)

    def tracing(self):
        return _netshard.use_mesh(self.mesh)


def _host_or_global(x):
    """A numpy copy of ``x``, unless it is a global array spread over several processes."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return x.astype(brainstate.environ.dftype())
    return np.asarray(x, dtype=brainstate.environ.dftype())
