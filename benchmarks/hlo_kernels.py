"""Kernels per step: what XLA's CPU runtime launches for one iteration of a compiled loop.

XLA's CPU backend runs an optimized HLO module as a sequence of *thunks*: one per fusion
(a generated loop kernel), per custom call (e.g. lapicque's event kernel, brainevent's numba
kernel), per copy, and per unfused operation that is not free (``bitcast``, ``tuple``,
``get-tuple-element``, ``parameter`` and ``constant`` are free: they only name buffers).
At small N each thunk costs a roughly fixed overhead per step, so their number is what the
"~N kernels per step" of the README counts.

:func:`count_step_kernels` takes ``compiled.as_text()`` (``jax.jit(f).lower(...).compile()``,
or :func:`lapicque.sharding.compiled_text` for ``lapicque.simulate``), finds the loop body
that runs once per step (the innermost ``while`` body; of several, the one with the most
thunks) and counts its thunks by kind.

``python -m benchmarks.hlo_kernels FILE`` prints the count of an HLO text file.
"""

from __future__ import annotations

import collections
import re
import sys
from typing import Dict, List, Tuple

#: operations that launch nothing (they name or alias buffers)
FREE_OPS = frozenset({"parameter", "get-tuple-element", "tuple", "constant", "bitcast", "after-all",
                      "opt-barrier", "partition-id", "replica-id"})
_HEADER = re.compile(r"^(?:ENTRY\s+)?%?([\w.\-]+)\s*\(.*\{\s*$")
_BODY = re.compile(r"body=%?([\w.\-]+)")
_TARGET = re.compile(r'custom_call_target="([^"]+)"')
_KIND = re.compile(r"kind=(k\w+)")
_CALLS = re.compile(r"calls=%?([\w.\-]+)")


def computations(hlo_text: str) -> Dict[str, List[str]]:
    """The instruction lines of every computation of an HLO module text, by computation name."""
    comps: Dict[str, List[str]] = {}
    current = None
    for line in hlo_text.splitlines():
        if current is None:
            m = _HEADER.match(line)
            if m and not line.startswith(" "):
                current = m.group(1)
                comps[current] = []
        elif line.startswith("}"):
            current = None
        elif line.strip():
            comps[current].append(line.strip())
    return comps


def _opcode(line: str) -> str:
    """The opcode of one instruction line (``%x = f32[4]{0} fusion(...), ...`` -> ``fusion``)."""
    rhs = line.split(" = ", 1)[1] if " = " in line else line
    if rhs.startswith("("):  # a tuple type: skip to its closing parenthesis
        depth = 0
        for i, ch in enumerate(rhs):
            depth += (ch == "(") - (ch == ")")
            if depth == 0:
                rhs = rhs[i + 1:]
                break
    else:
        rhs = rhs.split(" ", 1)[1] if " " in rhs else rhs
    return rhs.strip().split("(", 1)[0].strip()


def _fusion_name(line: str) -> str:
    """A fusion's instruction name without its numeric suffix (``%add_select_fusion.1`` -> ``add_select_fusion``)."""
    name = line.replace("ROOT ", "").split(" = ", 1)[0].lstrip("%")
    return re.sub(r"\.\d+$", "", name)


def step_body(hlo_text: str) -> Tuple[str, List[str]]:
    """Name and lines of the loop body that runs once per step (innermost while body with the most thunks)."""
    comps = computations(hlo_text)
    bodies = {b for lines in comps.values() for line in lines if _opcode(line) == "while"
              for b in _BODY.findall(line) if b in comps}
    if not bodies:
        raise ValueError("no while loop in this HLO text")
    innermost = [b for b in bodies if not any(_opcode(x) == "while" for x in comps[b])] or list(bodies)
    name = max(innermost, key=lambda b: sum(_opcode(x) not in FREE_OPS for x in comps[b]))
    return name, comps[name]


def count_step_kernels(hlo_text: str) -> Dict[str, object]:
    """Thunks of one step: ``total``, ``fusions``, ``custom_calls``, ``copies``, ``other`` and what they are.

    ``custom_call_targets`` counts custom calls by target, ``other_ops`` the unfused operations by
    opcode (e.g. ``dynamic-update-slice``, ``scatter``, ``conditional``), ``fusion_names`` the fusions
    by the name XLA gave them (it names a fusion after its main operations: ``add_select_fusion``).
    """
    name, lines = step_body(hlo_text)
    ops = [(_opcode(x), x) for x in lines]
    ops = [(op, x) for op, x in ops if op not in FREE_OPS]
    fusions = [x for op, x in ops if op == "fusion"]
    customs = [x for op, x in ops if op == "custom-call"]
    copies = [x for op, x in ops if op in ("copy", "copy-start")]
    other = [op for op, x in ops if op not in ("fusion", "custom-call", "copy", "copy-start", "copy-done")]
    return {
        "body": name,
        "total": len(fusions) + len(customs) + len(copies) + len(other),
        "fusions": len(fusions), "custom_calls": len(customs), "copies": len(copies), "other": len(other),
        "custom_call_targets": dict(collections.Counter(m.group(1) for m in map(_TARGET.search, customs) if m)),
        "other_ops": dict(collections.Counter(other)),
        "fusion_names": dict(collections.Counter(_fusion_name(x) for x in fusions)),
    }


def describe(counts: Dict[str, object]) -> str:
    """One line: ``21 (17 fusions, 2 custom calls [lapicque_event_csr_matvec x2], 1 copy, 1 other [while])``."""
    targets = ", ".join(f"{k} x{v}" for k, v in counts["custom_call_targets"].items())
    other = ", ".join(f"{k} x{v}" for k, v in counts["other_ops"].items())
    return (f"{counts['total']} ({counts['fusions']} fusions, {counts['custom_calls']} custom calls"
            + (f" [{targets}]" if targets else "") + f", {counts['copies']} copies, {counts['other']} other"
            + (f" [{other}]" if other else "") + ")")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    for path in argv:
        with open(path) as fh:
            counts = count_step_kernels(fh.read())
        print(f"{path}: {describe(counts)}")
        for k, v in sorted(counts["fusion_names"].items()):
            print(f"    {v} x {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
