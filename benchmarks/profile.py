"""Look inside one step: jaxpr primitives and optimized HLO of lapicque vs brainpy.state.

Usage::

    python -m benchmarks.profile                 # every model: op counts side by side
    python -m benchmarks.profile LIF --show      # + the step jaxprs and the optimized HLO loop body
    python -m benchmarks.profile --dump DIR      # write jaxpr / HLO text files per model

Counts:

* ``jaxpr eqns``: equations of one ``update`` call's jaxpr, counted
  recursively through sub-jaxprs (``pjit``, ``custom_jvp_call``, ...);
* ``HLO ops``: instructions of the compiled (optimized) module outside the
  entry computation (i.e. the loop body, its condition and the fused
  computations it calls);
* ``kernels/step``: fusions + other non-trivial ops in the while body: each is
  one pass over the N-element state on CPU, so this is the memory-traffic
  proxy that matters at large N;
* notable primitives: ``exprel`` (saiunit custom primitive),
  ``convert_element_type``, ``select_n`` (where), ``broadcast_in_dim``,
  ``custom_jvp_call``, integer ops.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path
from typing import Dict

from . import models as M

NOTABLE = ("exprel", "exp", "convert_element_type", "select_n", "broadcast_in_dim", "custom_jvp_call",
           "custom_vjp_call", "stop_gradient", "pjit", "heaviside_surrogate_gradient", "div", "integer_pow")


def _step_fn(impl, name, n):
    import brainstate
    import saiunit as u

    brainstate.environ.set(dt=M.DT_MS * u.ms)
    model = M.make_model(impl, name, n)
    current = M.INPUT_MA[name] * u.mA
    dt = M.DT_MS * u.ms

    def step(i):
        with brainstate.environ.context(t=i * dt):
            return model.update(current)

    return step


def step_jaxpr(impl: str, name: str, n: int = 1000):
    import brainstate
    import jax.numpy as jnp

    out = brainstate.transform.make_jaxpr(_step_fn(impl, name, n))(jnp.int32(0))
    return out[0] if isinstance(out, tuple) else out


def _walk(jaxpr, counter):
    for eqn in jaxpr.eqns:
        counter[eqn.primitive.name] += 1
        for v in eqn.params.values():
            for sub in (v if isinstance(v, (list, tuple)) else (v,)):
                inner = getattr(sub, "jaxpr", None)
                if inner is not None and hasattr(inner, "eqns"):
                    _walk(inner, counter)
                elif hasattr(sub, "eqns"):
                    _walk(sub, counter)
    return counter


def primitive_histogram(jaxpr) -> Dict[str, int]:
    return dict(_walk(getattr(jaxpr, "jaxpr", jaxpr), collections.Counter()))


def compiled_hlo(impl: str, name: str, n: int = 1000, steps: int = 100, store: str = "float") -> str:
    import brainstate
    import jax.numpy as jnp

    step = _step_fn(impl, name, n)

    def body(i):
        spk = step(i)
        return spk > 0 if store == "bool" else spk

    run = brainstate.transform.jit(lambda: brainstate.transform.for_loop(body, jnp.arange(steps)))
    return run.lower().compile().as_text()


_HEADER = re.compile(r"^(ENTRY\s+)?%?([\w.\-]+)\s.*\{\s*$")


def hlo_computations(text: str) -> Dict[str, list]:
    comps, cur, name = {}, None, None
    for line in text.splitlines():
        if cur is None:
            m = _HEADER.match(line)
            if m and not line.startswith(" "):
                name = ("ENTRY " if m.group(1) else "") + m.group(2)
                cur = []
        elif line.startswith("}"):
            comps[name] = cur
            cur = None
        elif line.strip() and "=" in line:
            cur.append(line.strip())
    return comps


def hlo_stats(text: str) -> Dict[str, int]:
    comps = hlo_computations(text)
    ops = sum(len(v) for k, v in comps.items() if not k.startswith("ENTRY"))
    # the while body: the computation named in `body=` of the while instruction
    body_name = None
    for v in comps.values():
        for ins in v:
            m = re.search(r"\bwhile\(.*body=%?([\w.\-]+)", ins)
            if m:
                body_name = m.group(1)
    kernels = 0
    if body_name and body_name in comps:
        trivial = ("parameter(", "get-tuple-element(", "tuple(", "constant(", "bitcast(", "copy-start",
                   "copy-done", "after-all")
        for ins in comps[body_name]:
            rhs = ins.split("=", 1)[1]
            if not any(t in rhs for t in trivial):
                kernels += 1
    return {"hlo_ops": ops, "kernels_per_step": kernels, "fusions": text.count(" fusion(")}


def op_counts(impl: str, name: str, n: int = 1000, store: str = "float") -> Dict[str, int]:
    hist = primitive_histogram(step_jaxpr(impl, name, n))
    out = {"jaxpr_eqns": sum(hist.values())}
    out.update(hlo_stats(compiled_hlo(impl, name, n, store=store)))
    out.update({f"n_{k}": hist.get(k, 0) for k in NOTABLE})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=list(M.MODEL_NAMES))
    p.add_argument("--store", choices=("float", "bool"), default="float")
    p.add_argument("--show", action="store_true", help="print the step jaxprs and the HLO while body")
    p.add_argument("--dump", type=Path, help="write <model>.<impl>.jaxpr.txt / .hlo.txt into this folder")
    a = p.parse_args(argv)
    impls = M.IMPLS if M.has_reference() else ("lapicque",)
    cols = ["jaxpr_eqns", "hlo_ops", "kernels_per_step"] + [f"n_{k}" for k in NOTABLE]
    print("model".ljust(11) + "impl".ljust(10) + " ".join(c.replace("n_", "")[:12].rjust(12) for c in cols))
    for name in a.models:
        for impl in impls:
            c = op_counts(impl, name, store=a.store)
            print(name.ljust(11) + impl.ljust(10) + " ".join(str(c[k]).rjust(12) for k in cols), flush=True)
            if a.show or a.dump:
                jx = str(step_jaxpr(impl, name))
                hlo = compiled_hlo(impl, name, store=a.store)
                if a.dump:
                    a.dump.mkdir(parents=True, exist_ok=True)
                    (a.dump / f"{name}.{impl}.jaxpr.txt").write_text(jx)
                    (a.dump / f"{name}.{impl}.hlo.txt").write_text(hlo)
                if a.show:
                    print(f"--- {name} / {impl}: step jaxpr ---\n{jx}")
                    comps = hlo_computations(hlo)
                    for k, v in comps.items():
                        if not k.startswith("ENTRY"):
                            print(f"--- HLO {k} ---")
                            print("\n".join("  " + ins for ins in v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
