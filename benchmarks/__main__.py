"""``python -m benchmarks``: the lapicque benchmark suite.

Prints each table as it is measured and writes them all to
``benchmarks/results/<stem>.md`` and ``.json`` (git-ignored).  See
``benchmarks/README.md`` for what is measured and how.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ._common import thread_env

SECTIONS = ("forward", "forloop", "network", "training", "memory", "scaling", "bandwidth", "compile", "profile",
            "sharding")
DEFAULT_SECTIONS = ("forward", "forloop", "network", "training", "memory", "scaling", "bandwidth", "compile")


def _ints(text: str):
    out = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        if "e" in part:
            out.append(int(float(part)))
        else:
            out.append(int(part))
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark lapicque against brainpy.state (and Brian2, NEST, snnTorch, Norse where installed).")
    p.add_argument("section_names", nargs="*", metavar="SECTION",
                   help="sections to run (the same as --sections; e.g. `python -m benchmarks network --quick`)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: N in {1e3, 1e4}, T=1000, models " "LIF, LIFRef, AdExIF, GifRef, 3 repeats, "
                        "training n=4096 only, no memory subprocesses at N=1e6")
    p.add_argument("--models", help="comma-separated model names (default: all 13; --quick: a subset)")
    p.add_argument("--sizes", help="comma-separated N values (default 1e3,1e4,1e5,1e6)")
    p.add_argument("--steps", type=int, help="T, steps per run (default 1000)")
    p.add_argument("--repeats", type=int, help="timed repeats per case (default 5; --quick 3)")
    p.add_argument("--peers", default="brian2,nest,snntorch,norse",
                   help="comma-separated peers for LIF/LIFRef and training, or 'none'")
    p.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                   help=f"comma-separated subset of {','.join(SECTIONS)} (profile: all models at N=1e4, T=1e4)")
    p.add_argument("--train-sizes", default="4096,8192", help="layer sizes n of the training benchmark")
    p.add_argument("--train-steps", type=int, default=500, help="T of the training benchmark")
    p.add_argument("--stores", default="float,bool", help="spike record variants: float,bool")
    p.add_argument("--profile-size", default="1e4", help="N of the profile section")
    p.add_argument("--profile-steps", type=int, default=10_000, help="T of the profile section")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for torch, NEST, BLAS and XLA's Eigen pool (default 1: one core per library; "
                        "0 = each library's default)")
    p.add_argument("--peer-python", default=sys.executable,
                   help="interpreter with brian2 / nest for the network section (Brian2 wants numpy < 2.4)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default benchmarks/results)")
    p.add_argument("--stem", default=None, help="output file name stem (default: results, or quick)")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    # thread limits must be in place before jax / torch are imported
    os.environ.update(thread_env(a.threads))

    from . import models as M
    from . import suite
    from ._common import RESULTS_DIR, machine_info, write_results

    models = a.models.split(",") if a.models else list(M.QUICK_MODELS if a.quick else M.MODEL_NAMES)
    unknown = [m for m in models if m not in M.MODEL_NAMES]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; choose from {', '.join(M.MODEL_NAMES)}")
    sizes = _ints(a.sizes) if a.sizes else ([1000, 10_000] if a.quick else [1000, 10_000, 100_000, 1_000_000])
    steps = a.steps or 1000
    repeats = a.repeats or (3 if a.quick else 5)
    peers = [] if a.peers.strip().lower() in ("", "none") else [p.strip() for p in a.peers.split(",")]
    sections = [s.strip() for s in (",".join(a.section_names) if a.section_names else a.sections).split(",")
                if s.strip()]
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        sys.exit(f"unknown section(s) {bad}; choose from {', '.join(SECTIONS)}")
    stores = [s.strip() for s in a.stores.split(",") if s.strip()]
    train_sizes = _ints(a.train_sizes)
    if a.quick and a.train_sizes == "4096,8192":
        train_sizes = [4096]

    info = machine_info()
    info.update(threads=a.threads, steps=steps, repeats=repeats, sizes=sizes)
    print(f"lapicque benchmarks: models={','.join(models)} N={sizes} T={steps} repeats={repeats} "
          f"threads={a.threads} load={info['load_average_start']}", flush=True)

    def log(msg):
        print(msg, flush=True)

    tables = []
    t_start = time.perf_counter()
    out_dir = a.out or RESULTS_DIR
    stem = a.stem or ("quick" if a.quick else "results")

    def save():
        """Write what has been measured so far (a run cut short still leaves its tables)."""
        info["wall_s"] = round(time.perf_counter() - t_start, 1)
        return write_results(tables, info, out_dir, stem)

    fwd = None
    if "forward" in sections:
        log("== 1. forward throughput")
        fwd, _ = suite.forward(models, sizes, steps, repeats, peers=peers, stores=stores, log=log,
                               tables_out=tables, progress=save)
    if "forloop" in sections:
        log("== 1c. ported-code loop (for_loop + update(x), (T, N) input) vs brainpy.state and a bare scan")
        from .forloop import forloop
        tables.append(forloop(models, n=10_000, steps=1000 if a.quick else 5000, repeats=repeats, log=log))
        save()
    if "network" in sections:
        log("== 1d. E/I network of Brette et al. (2007): the ported script vs brainpy.state (one process); "
            "simulate vs Brian2, ANNarchy, NEST (one process per run)")
        from . import network as NW
        net_args = NW.parse_args(["--peer-python", a.peer_python] + (["--quick"] if a.quick else []))
        # Brian2 and NEST as --peers says; ANNarchy and Brian2 2.11 (their own environments) unless --peers none
        skip = [i for i in NW.PEER_OF if not peers or (i.startswith("brian2") and "brian2" not in peers)
                or (i.startswith("nest") and "nest" not in peers)]
        net_args.impls = ",".join(i for i in NW.IMPLS if i not in skip and i not in NW.OPTIONAL)
        table, _ = NW.section(net_args, log=log)
        tables.append(table)
        log(NW.summary(table))  # the headline: the unchanged script vs brainpy.state, simulate, the peers
        save()  # creates the output folder before the plot goes there
        NW.plot(table.rows, out_dir / f"{stem}_network.png")
    if "training" in sections:
        log("== 2. training step")
        tables.append(suite.training(train_sizes, 16, a.train_steps, max(1, min(repeats, 3)),
                                     peers=[p for p in peers if p in ("snntorch", "norse")], log=log))
        save()
    if "memory" in sections:
        log("== 3. peak memory (one process per case)")
        mem_sizes = [n for n in sizes if not (a.quick and n > 10_000)]
        torch_peers = [p for p in peers if p in ("snntorch", "norse")]
        tables.append(suite.memory(("LIF",), mem_sizes, steps, peers=peers,
                                   train_sizes=train_sizes[:1], train_steps=a.train_steps,
                                   train_impls=["lapicque", "brainpy"] + torch_peers,
                                   threads=a.threads, log=log))
        save()
    if "scaling" in sections:
        log("== 3b. growth with N and T")
        t_steps = (250, 500, 1000, 2000) if a.quick else (500, 1000, 2000, 4000, 8000)
        tables.append(suite.scaling(fwd, n=10_000, t_steps=t_steps, sizes=[n for n in sizes if n >= 10_000],
                                    steps=steps, repeats=repeats, log=log))
        save()
    if "bandwidth" in sections:
        log("== 4. memory bandwidth")
        n_bw = max(sizes)
        tables.append(suite.bandwidth(n_bw, suite.steps_for(n_bw, steps), repeats, log=log))
        save()
    if "compile" in sections:
        log("== 5. compile time of the demo")
        tables.append(suite.compile_demo(models, n=1000, steps=1000, threads=a.threads, log=log))
        save()
    if "profile" in sections:
        log("== 6. profile")
        n_prof = _ints(a.profile_size)[0]
        tables.append(suite.profile_throughput(models, n=n_prof, steps=a.profile_steps,
                                               repeats=max(1, min(repeats, 3)), log=log))
    if "sharding" in sections:
        log("== 7. several devices (simulated CPU devices, own process)")
        from . import sharding as SH
        tables.append(SH.section(n=10 ** 5 if a.quick else 10 ** 6, steps=steps,
                                 repeats=max(1, min(repeats, 3)), log=log))

    paths = save()
    print()
    for t in tables:
        print(t.markdown())
    print(f"wrote {paths['markdown']} and {paths['json']} ({info['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
