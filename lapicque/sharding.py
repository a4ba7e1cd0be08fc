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

import re
from typing import List

from ._engine.shardplan import AXES, ShardPlan, host_default_device, make_mesh
from ._engine.simulate import prepare

__all__ = ["make_mesh", "compiled_text", "collectives", "COLLECTIVE_OPS", "ShardPlan", "AXES", "host_default_device"]

#: HLO operations that move data between devices
COLLECTIVE_OPS = (
    "all-gather", "all-reduce", "reduce-scatter", "all-to-all", "ragged-all-to-all",
    "collective-permute", "collective-broadcast", "send", "recv",
)
_COLLECTIVE_RE = re.compile(
    r"[\s=]((?:%s))(?:-start|-done)?\(" % "|".join(re.escape(op) for op in COLLECTIVE_OPS))


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
    return prepare(model, current, duration, dt=dt, record=record, **kwargs).compile().as_text()


def collectives(hlo_text: str) -> List[str]:
    """The cross-device operations (``all-gather``, ``all-reduce``, ...) in an HLO text, sorted, without repeats."""
    return sorted(set(_COLLECTIVE_RE.findall(hlo_text)))
