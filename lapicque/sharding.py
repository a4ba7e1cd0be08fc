r"""Run one simulation on several devices: the layout behind ``simulate(..., devices=...)``.

Neurons are independent, so a population splits across devices without any
communication: every state variable, every per-neuron parameter and the
input current is cut along the *neuron axis* (and, with a device mesh that
has a ``'batch'`` axis, along the batch axis), each device runs the same
compiled time loop on its own block, and only what is recorded is brought
back to the host at the end.  This module builds that layout with JAX's own
sharding (:class:`jax.sharding.Mesh`, :class:`~jax.sharding.NamedSharding`
and the partitioner behind ``jax.jit``); there is no hand-written message
passing.

Which devices
-------------
``simulate(..., devices=d)`` takes

* an ``int`` ``k``: the first ``k`` devices of :func:`jax.devices` (all
  processes' devices after :func:`jax.distributed.initialize`);
* a sequence of :class:`jax.Device`: exactly those;
* a :class:`jax.sharding.Mesh` whose axes are named ``'neuron'`` and/or
  ``'batch'``, e.g. ``jax.make_mesh((2, 4), ('batch', 'neuron'))``: the batch
  axis of the state over ``'batch'``, the neuron axis over ``'neuron'``.

An ``int`` or a device list makes a one-dimensional mesh over the neuron axis.

Layout
------
The state has the shape ``(batch,) + varshape`` or ``varshape``; its *neuron
axis* is the first axis of ``varshape``.  Any array whose trailing axes line
up with the state shape (right-aligned, as in broadcasting) is cut along the
axes it has at full size: a per-neuron parameter ``tau`` of shape ``(N,)``
is cut like the state, a scalar ``V_th`` is left whole (one number per
device).  Per-neuron arrays that a model keeps as attributes (its
parameters) are passed to the compiled loop as sharded arguments instead of
being baked in as constants; the initial state is built in host memory and
placed shard by shard (:func:`jax.make_array_from_callback`), so no single
device ever holds the whole population.

Sizes that do not divide
------------------------
A neuron count that the devices do not divide is *padded*: the neuron axis is
extended to a multiple of the number of devices (of ``8 x`` that number when
the neuron axis is the last axis, so that each device packs whole bytes of
spike bits) by repeating the last neuron, and the copies are cut away again
from the recordings and from the final state.  The same holds for a batch
axis.  Padded neurons cost compute but never show up in results.  A current
*function* (``current=f(t)``) is padded the same way inside the loop; inputs
registered on the model with ``add_current_input`` that close over
per-neuron arrays see the padded state and fail with a shape error -- use a
neuron count the devices divide in that case.

Several hosts
-------------
With :func:`jax.distributed.initialize` every process runs the same script
(JAX's multi-controller model), builds the same model and input, and calls
``simulate(..., devices=jax.devices())`` (or ``devices=k``); each device
takes its block of neurons.  The time loop runs without any communication;
at the end the recordings are gathered to *every* process
(:func:`jax.experimental.multihost_utils.process_allgather`, the only
collective, outside the loop).  With an evenly divided neuron count the
model's final state stays spread over the processes (a global array: read it
with ``process_allgather``); a padded one is gathered to each host.  On CPU,
gathering across processes needs
``jax.config.update("jax_cpu_collectives_implementation", "gloo")``;
GPUs use NCCL.  Tested: two processes with two CPU devices each on one
machine (``tests/test_sharding.py``); not tested on GPUs or TPUs (none were
available).

Limits
------
* Results: spikes equal the single-device run in every test; traces agree
  to float32 rounding (the per-neuron parameters enter the sharded program as
  arguments, where ``simulate()`` without ``devices`` folds them in as
  constants; the ExpIF upstroke amplifies this to ~3e-3 mV).  Runs on 1, 3
  and 4 devices agree bit for bit.
* Memory: every process builds the full model and initial state in host
  memory first, and receives *all* recordings; for big runs record little
  (``spikes='count'``, ``record_every``).  Per-neuron parameters are created
  where the model is constructed (the default device, unless the model is
  built under ``jax.default_device(jax.devices('cpu')[0])``).
* Per-neuron arrays that a current *function* closes over, and per-neuron
  attributes of nested sub-modules, are compile-time constants: every device
  holds them whole (no communication, more memory).  Pass per-neuron
  currents as arrays instead.
* Speed: only simulated CPU devices (threads sharing the same cores) were
  measured here (``python -m benchmarks.sharding``); they cannot run faster
  than the cores they share.

Checking that nothing is communicated
-------------------------------------
:func:`compiled_text` compiles (without running) the program ``simulate``
would run and returns XLA's HLO after partitioning; :func:`collectives` lists
the cross-device operations in it (it is empty for every lapicque model).

>>> import saiunit as u, lapicque
>>> from lapicque import sharding
>>> hlo = sharding.compiled_text(lapicque.LIF(100), 2 * u.mA, 10 * u.ms, devices=1)
>>> sharding.collectives(hlo)
[]
"""

from __future__ import annotations

import contextlib
import numbers
import re
from typing import Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["make_mesh", "compiled_text", "collectives", "COLLECTIVE_OPS", "ShardPlan"]

#: mesh axis names understood by :func:`simulate`
AXES = ("batch", "neuron")

#: HLO operations that move data between devices
COLLECTIVE_OPS = (
    "all-gather", "all-reduce", "reduce-scatter", "all-to-all", "ragged-all-to-all",
    "collective-permute", "collective-broadcast", "send", "recv",
)
_COLLECTIVE_RE = re.compile(
    r"[\s=]((?:%s))(?:-start|-done)?\(" % "|".join(re.escape(op) for op in COLLECTIVE_OPS))


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


# --------------------------------------------------------------------------
# inspection
# --------------------------------------------------------------------------
def compiled_text(model, current, duration, dt=None, record=("spike",), **kwargs) -> str:
    """HLO text of the program that :func:`lapicque.simulate` would run (compiled, not run).

    Takes the same arguments as :func:`lapicque.simulate` (``devices=...``
    for a sharded run).  The text is XLA's optimized module after SPMD
    partitioning, i.e. the per-device program; pass it to
    :func:`collectives` to see what would move between devices.  The model's
    state is initialized as ``simulate`` would, but not advanced.
    """
    from ._simulate import simulate

    args = {} if dt is None else {"dt": dt}
    return simulate(model, current, duration, record=record, _compile_only=True, **args, **kwargs)


def collectives(hlo_text: str) -> List[str]:
    """The cross-device operations (``all-gather``, ``all-reduce``, ...) in an HLO text, sorted, without repeats."""
    return sorted(set(_COLLECTIVE_RE.findall(hlo_text)))
