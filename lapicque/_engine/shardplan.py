"""How the arrays of a sharded run are cut across a device mesh (see :mod:`lapicque.sharding`)."""

from __future__ import annotations

import contextlib
import numbers
from typing import Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["AXES", "make_mesh", "host_default_device", "ShardPlan"]

#: mesh axis names understood by :func:`simulate`
AXES = ("batch", "neuron")

# --------------------------------------------------------------------------
# the mesh
# --------------------------------------------------------------------------
def _auto_mesh(devices: np.ndarray, names: Tuple[str, ...]) -> Mesh:
    """A mesh whose axes leave the layout of intermediates to the partitioner."""
    try:
        from jax.sharding import AxisType
        return Mesh(devices, names, axis_types=(AxisType.Auto,) * len(names))
    except (ImportError, TypeError):  # pragma: no cover - older jax: every axis is automatic
        return Mesh(devices, names)


def make_mesh(devices) -> Mesh:
    """The device mesh for ``simulate(..., devices=devices)``.

    Parameters
    ----------
    devices : int, sequence of jax.Device, or jax.sharding.Mesh
        ``k``: the first ``k`` devices of :func:`jax.devices`; a device
        list: a one-dimensional ``'neuron'`` mesh over it; a ``Mesh``: used as
        given (its axes must be named ``'neuron'`` and/or ``'batch'``).

    Returns
    -------
    jax.sharding.Mesh
        With automatic axis types (the partitioner lays out intermediates).

    Examples
    --------
    >>> from lapicque.sharding import make_mesh
    >>> dict(make_mesh(1).shape)
    {'neuron': 1}
    """
    if isinstance(devices, Mesh):
        bad = [a for a in devices.axis_names if a not in AXES]
        if bad:
            raise ValueError(
                f"simulate: the device mesh has axes {tuple(devices.axis_names)}; lapicque understands the axis "
                f"names 'neuron' (the neuron axis of the state) and 'batch' (its batch axis), e.g. "
                f"jax.make_mesh((2, 2), ('batch', 'neuron')).")
        return _auto_mesh(devices.devices, tuple(devices.axis_names))
    available = jax.devices()
    if isinstance(devices, (numbers.Integral, np.integer)) and not isinstance(devices, bool):
        k = int(devices)
        if k < 1:
            raise ValueError(f"simulate: devices must be a positive number of devices; got {k}.")
        if k > len(available):
            hint = ""
            if jax.default_backend() == "cpu":
                hint = (f" To simulate {k} devices on CPU, set XLA_FLAGS=--xla_force_host_platform_device_count={k} "
                        f"before jax is imported.")
            raise ValueError(f"simulate: devices={k}, but only {len(available)} "
                             f"device{'s are' if len(available) != 1 else ' is'} visible "
                             f"({available[0].platform}).{hint}")
        return _auto_mesh(np.array(available[:k]), ("neuron",))
    try:
        devs = list(devices)
    except TypeError:
        devs = None
    if not devs or not all(isinstance(d, jax.Device) for d in devs):
        raise TypeError(f"simulate: devices must be a number of devices, a list of jax devices (e.g. jax.devices()) "
                        f"or a jax.sharding.Mesh with axes 'neuron' and/or 'batch'; got {devices!r}.")
    if len(set(devs)) != len(devs):
        raise ValueError("simulate: the device list names a device twice.")
    return _auto_mesh(np.array(devs), ("neuron",))


@contextlib.contextmanager
def host_default_device():
    """Create arrays in host memory (the CPU backend) inside this block, where there is one."""
    try:
        cpu = jax.local_devices(backend="cpu")[0]
    except RuntimeError:  # pragma: no cover - no CPU backend
        cpu = None
    if cpu is None or jax.default_backend() == "cpu":
        yield
        return
    with jax.default_device(cpu):  # pragma: no cover - needs an accelerator
        yield


# --------------------------------------------------------------------------
# the layout of one run
# --------------------------------------------------------------------------
def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


class ShardPlan:
    """How the arrays of one run are cut across a mesh.

    Parameters
    ----------
    mesh : jax.sharding.Mesh
        From :func:`make_mesh`.
    shape : tuple of int
        The state shape, ``(batch,) + varshape`` or ``varshape``.
    batched : bool
        Whether ``shape`` has a leading batch axis.

    Attributes
    ----------
    padded : tuple of int
        The state shape inside the compiled loop (see "Sizes that do not
        divide" in the module docstring).
    spec : jax.sharding.PartitionSpec
        The partition of a state-shaped array.
    """

    def __init__(self, mesh: Mesh, shape: Sequence[int], batched: bool):
        self.mesh = mesh
        self.shape = tuple(int(s) for s in shape)
        self.batched = bool(batched)
        sizes = dict(mesh.shape)
        if not self.batched and sizes.get("batch", 1) > 1:
            raise ValueError(
                f"simulate: the device mesh has a 'batch' axis of size {sizes['batch']}, but the state has no batch "
                f"axis (shape {self.shape}); pass batch_size=..., or use a mesh with the 'neuron' axis only.")
        axes: Dict[int, str] = {}
        if self.batched and "batch" in sizes:
            axes[0] = "batch"
        nd = 1 if self.batched else 0
        if "neuron" in sizes and nd < len(self.shape):
            axes[nd] = "neuron"
        self.axes = axes
        padded = list(self.shape)
        for d, name in axes.items():
            k = sizes[name]
            if name == "neuron" and d == len(self.shape) - 1 and k > 1:
                k *= 8  # each device packs whole bytes of spike bits along the last axis
            padded[d] = _round_up(self.shape[d], k)
        self.padded = tuple(padded)
        self.spec = PartitionSpec(*[axes.get(d) for d in range(len(self.shape))])
        self.sharding = NamedSharding(mesh, self.spec)
        self.is_padded = self.padded != self.shape
        self.n_devices = int(mesh.devices.size)

    def __repr__(self):
        return (f"ShardPlan({dict(self.mesh.shape)}, shape={self.shape}, padded={self.padded}, "
                f"spec={self.spec})")

    # ------------------------------------------------------------ layouts
    def _trailing(self, shape: Sequence[int], lead: int):
        """(partition spec, pad widths) for an array with ``lead`` leading axes, then axes aligned to the state.

        Returns ``None`` when the trailing axes do not broadcast to the state shape.
        """
        shape = tuple(shape)
        tail = shape[lead:]
        if len(tail) > len(self.shape):
            return None
        off = len(self.shape) - len(tail)
        spec: List[Optional[str]] = [None] * len(shape)
        pads = [(0, 0)] * len(shape)
        for j, n in enumerate(tail):
            d = off + j
            if n == self.shape[d] or n == self.padded[d]:
                if d in self.axes:
                    spec[lead + j] = self.axes[d]
                    pads[lead + j] = (0, self.padded[d] - n)
            elif n != 1:
                return None
        return PartitionSpec(*spec), pads

    def aligned(self, shape: Sequence[int], lead: int = 0) -> bool:
        """Whether an array of this shape is cut across devices (it has a sharded axis at full size)."""
        lay = self._trailing(shape, lead)
        return lay is not None and any(s is not None for s in lay[0])

    def place(self, value, lead: int = 0):
        """Pad ``value`` (a plain array) and place it across the mesh; returns a ``jax.Array``.

        Arrays that do not line up with the state are replicated on every device.
        """
        shape = tuple(np.shape(value))
        lay = self._trailing(shape, lead)
        spec, pads = lay if lay is not None else (PartitionSpec(), [(0, 0)] * len(shape))
        sharding = NamedSharding(self.mesh, spec)
        padded_shape = tuple(n + p[1] for n, p in zip(shape, pads))
        if (isinstance(value, jax.Array) and not any(p[1] for p in pads)
                and value.sharding.is_equivalent_to(sharding, len(shape))):
            return value  # already in place (e.g. the state left by a previous sharded run)
        if isinstance(value, jax.Array) and not value.is_fully_addressable:
            # a global array (several processes): re-lay it out on the devices, never through one host
            fn = jax.jit(lambda a: jnp.pad(a, pads, mode="edge") if any(p[1] for p in pads) else a,
                         out_shardings=sharding)
            return fn(value)
        host = np.asarray(value)
        if any(p[1] for p in pads):
            host = np.pad(host, pads, mode="edge")
        assert host.shape == padded_shape
        return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])

    def pad_traced(self, x, lead: int = 0):
        """Pad a traced array (inside the loop) the way :meth:`place` pads a concrete one."""
        lay = self._trailing(jnp.shape(x), lead)
        if lay is None:
            return x
        spec, pads = lay
        if any(p[1] for p in pads):
            # Evaluated whole on every device and extended there by repeating the last entry (a gather with
            # clamped iota indices; ``jnp.pad`` of an array the partitioner has already cut unevenly moves edge
            # values between devices), then each device keeps its own block.
            x = jax.lax.with_sharding_constraint(x, NamedSharding(self.mesh, PartitionSpec()))
            for j, (n, p) in enumerate(zip(jnp.shape(x), pads)):
                if p[1]:
                    x = jnp.take(x, jnp.minimum(jnp.arange(n + p[1]), n - 1), axis=j)
        return self.constrain(x, lead, spec)

    def constrain(self, x, lead: int = 0, spec=None):
        """Tell the partitioner to keep ``x`` (state-aligned trailing axes) cut across the devices."""
        if spec is None:
            lay = self._trailing(jnp.shape(x), lead)
            if lay is None:
                return x
            spec = lay[0]
        return jax.lax.with_sharding_constraint(x, NamedSharding(self.mesh, spec))

    def packed_constrain(self, x, lead: int = 0):
        """Constraint for spike bits packed along the last axis (the byte axis takes the last axis' spec)."""
        return jax.lax.with_sharding_constraint(
            x, NamedSharding(self.mesh, PartitionSpec(*([None] * lead), *self.spec)))

    # ------------------------------------------------------------ back to the host
    def gather(self, x) -> np.ndarray:
        """All of ``x`` in this process' memory (``process_allgather`` across hosts)."""
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            from jax.experimental import multihost_utils
            x = multihost_utils.process_allgather(x, tiled=True)
        return np.asarray(x)

    def unpad_index(self, ndim: int, lead: int = 0, packed: bool = False):
        """Index that cuts the padding off an array with ``lead`` leading axes and the state's axes."""
        idx = [slice(None)] * ndim
        for d in range(len(self.shape)):
            j = lead + d
            if j >= ndim:
                break
            if packed and d == len(self.shape) - 1:
                idx[j] = slice(0, (self.shape[d] + 7) // 8)
            elif self.padded[d] != self.shape[d]:
                idx[j] = slice(0, self.shape[d])
        return tuple(idx)

    def unpad_state(self, x):
        """Cut the padding off a state value after the run.

        Without padding the value stays where it is, cut across the devices.
        A padded value cannot stay cut evenly; it is gathered shard by shard
        (no device-side all-gather), cut, and kept in host memory (the CPU
        backend), where the initial state was built.
        """
        if not self.is_padded:
            return x
        shape = tuple(jnp.shape(x))
        if len(shape) > len(self.shape):
            return x
        off = len(self.shape) - len(shape)
        idx = tuple(slice(0, self.shape[off + j]) if n == self.padded[off + j] != self.shape[off + j] else slice(None)
                    for j, n in enumerate(shape))
        if all(i == slice(None) for i in idx):
            return x
        host = self.gather(x)[idx]
        with host_default_device():
            return jnp.asarray(host)
