"""The LIF / LIFRef runs in other simulators, each optional.

Every builder returns a callable that advances ``n`` neurons by ``steps``
steps of ``dt`` with the constant input of :data:`benchmarks.models.INPUT_MA`
and records the spikes in the simulator's own way (event monitors for Brian2
and NEST, a dense ``(T, N)`` tensor for snnTorch and Norse).  The network
state carries over between calls, as in the JAX runs.  The parameters are
the lapicque / brainpy defaults: ``tau = 5 ms``, ``R = 1``, ``V_th = 1 mV``,
``V_reset = V_rest = 0 mV``, soft reset (Brian2, snnTorch) or the simulator's
only reset (NEST, Norse: to ``V_reset``), ``tau_ref = 5 ms`` for LIFRef.

Not every peer has every model: snnTorch and Norse's box LIF have no
refractory period (LIFRef is skipped for them, with a note).
"""

from __future__ import annotations

import importlib
import math
import os
from typing import Callable

from .models import DT_MS, INPUT_MA

PEERS = ("brian2", "nest", "snntorch", "norse")
TAU_MS, V_TH, TAU_REF_MS = 5.0, 1.0, 5.0


class PeerUnavailable(Exception):
    """The peer is not installed, or cannot run this model."""


def import_peer(module: str, label: str):
    """Import an optional peer's module, or raise :class:`PeerUnavailable` saying why."""
    try:
        return importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 - any import failure means: skip this peer
        raise PeerUnavailable(f"{label} not importable ({type(e).__name__}: {str(e)[:80]})") from None


def _threads() -> int:
    """Threads for torch / NEST: ``LAPICQUE_BENCH_THREADS`` (set by ``--threads``), default 1;
    0 means the library's own default (all cores)."""
    n = int(os.environ.get("LAPICQUE_BENCH_THREADS", "1") or 1)
    return n if n > 0 else (os.cpu_count() or 1)


def build_peer(peer: str, model: str, n: int, steps: int, dt_ms: float = DT_MS) -> Callable:
    if model not in ("LIF", "LIFRef"):
        raise PeerUnavailable(f"{peer}: only LIF and LIFRef are compared")
    builder = {"brian2": _brian2, "nest": _nest, "snntorch": _snntorch, "norse": _norse}[peer]
    return builder(model, n, steps, dt_ms)


# --------------------------------------------------------------------------
def _brian2(model, n, steps, dt_ms):
    b2 = import_peer("brian2", "brian2")
    b2.prefs.codegen.target = "cython" if _has_cython() else "numpy"
    b2.prefs.logging.console_log_level = "WARNING"
    b2.defaultclock.dt = dt_ms * b2.ms
    I = INPUT_MA[model]
    eqs = "dv/dt = (-v + I_in) / tau : 1" + (" (unless refractory)" if model == "LIFRef" else "")
    kw = {"refractory": TAU_REF_MS * b2.ms} if model == "LIFRef" else {}
    grp = b2.NeuronGroup(n, eqs, threshold=f"v >= {V_TH}", reset=f"v -= {V_TH}", method="exact",
                         namespace={"tau": TAU_MS * b2.ms, "I_in": I}, **kw)
    mon = b2.SpikeMonitor(grp)
    net = b2.Network(grp, mon)
    duration = steps * dt_ms * b2.ms

    count = {"before": 0}

    def fn():
        net.run(duration, report=None)
        total = int(mon.num_spikes)
        n, count["before"] = total - count["before"], total
        return n  # spikes of this call (the monitor keeps them all: ~12 bytes per spike)

    return fn


def _has_cython() -> bool:
    try:
        import Cython  # noqa: F401

        return True
    except ImportError:
        return False


# --------------------------------------------------------------------------
#: NEST's connection to the spike recorder costs ~30 KB per neuron here (3.3 GB at N = 1e5,
#: measured with NEST 3.10, 1 thread): larger groups would not fit a 24 GB machine
NEST_MAX_N = 200_000


def _nest(model, n, steps, dt_ms):
    if n > NEST_MAX_N:
        raise PeerUnavailable(f"NEST skipped above N = {NEST_MAX_N:,}: recording spikes costs ~30 KB per "
                              f"neuron ({n * 30e3 / 2**30:.0f} GiB here)")
    nest = import_peer("nest", "nest")
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:  # pragma: no cover - older NEST
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": dt_ms, "local_num_threads": _threads(), "print_time": False})
    # V_inf = R I = I (mV); with C_m = 250 pF and tau_m = 5 ms, R = 20 MOhm: I_e = V_inf / R
    C_m = 250.0
    R_Mohm = TAU_MS / C_m * 1e3
    params = {"tau_m": TAU_MS, "C_m": C_m, "E_L": 0.0, "V_reset": 0.0, "V_th": V_TH, "V_m": 0.0,
              "I_e": INPUT_MA[model] / R_Mohm * 1e3, "t_ref": TAU_REF_MS if model == "LIFRef" else 0.0}
    pop = nest.Create("iaf_psc_delta", n, params=params)
    rec = nest.Create("spike_recorder")
    nest.Connect(pop, rec)
    duration = steps * dt_ms

    def fn():
        nest.Simulate(duration)
        n = rec.n_events
        rec.n_events = 0  # clear the recorder: its memory must not grow over the repeats
        return n

    return fn


# --------------------------------------------------------------------------
def _torch():
    """torch, limited to the benchmark's thread count (PeerUnavailable if missing)."""
    torch = import_peer("torch", "torch")
    torch.set_num_threads(_threads())
    return torch


def _snntorch(model, n, steps, dt_ms):
    if model != "LIF":
        raise PeerUnavailable("snnTorch's Leaky has no refractory period")
    torch = _torch()
    snn = import_peer("snntorch", "snntorch")
    beta = math.exp(-dt_ms / TAU_MS)
    lif = snn.Leaky(beta=beta, threshold=V_TH, reset_mechanism="subtract")
    # exact LIF step: V <- beta V + (1 - beta) R I
    cur = torch.full((n,), (1 - beta) * INPUT_MA[model])
    state = {"mem": torch.zeros(n)}

    def fn():
        with torch.no_grad():
            mem = state["mem"]
            out = torch.empty((steps, n))
            for t in range(steps):
                spk, mem = lif(cur, mem)
                out[t] = spk
            state["mem"] = mem
        return out

    return fn


def _norse(model, n, steps, dt_ms):
    if model != "LIF":
        raise PeerUnavailable("Norse's box LIF has no refractory period")
    torch = _torch()
    nt = import_peer("norse.torch", "norse")
    p = nt.LIFBoxParameters(tau_mem_inv=torch.as_tensor(1e3 / TAU_MS), v_leak=torch.as_tensor(0.),
                            v_th=torch.as_tensor(V_TH), v_reset=torch.as_tensor(0.))
    cell = nt.LIFBoxCell(p, dt=dt_ms * 1e-3)
    cur = torch.full((n,), INPUT_MA[model])
    box = {"s": None}

    def fn():
        with torch.no_grad():
            s = box["s"]
            out = torch.empty((steps, n))
            for t in range(steps):
                z, s = cell(cur, s)
                out[t] = z
            box["s"] = s
        return out

    return fn
