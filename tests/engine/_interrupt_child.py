"""A long simulate() run that the test interrupts with SIGINT (``python tests/_interrupt_child.py progress|quiet``).

Prints ``READY`` once the run is compiled, just before it starts, then, after the interrupt, one ``RESULT <json>`` line: when the
KeyboardInterrupt arrived, how much CPU the process used in the second after it (a run left going in the
background keeps the cores busy), and whether the model holds the state it had before the call.
"""

import json
import sys
import time

import brainstate
import numpy as np
import saiunit as u

import lapicque as lq
from lapicque._engine.simulate import prepare

def main():
    brainstate.environ.set(dt=0.1 * u.ms)
    neu = lq.LIF(20000, tau=10. * u.ms)
    lq.simulate(neu, 2. * u.mA, 1 * u.ms)                      # a state to keep
    before = np.asarray(neu.V.value.to_decimal(u.mV)).copy()
    # simulate() = prepare + compile + execute; compiled first, so the interrupt lands in the run, not in XLA's compiler
    run = prepare(neu, 2. * u.mA, 200 * u.second, spikes="count", progress=sys.argv[1] == "progress")
    run.compile_now()
    print("READY", flush=True)
    try:
        run.execute()
        result = {"interrupted": False}
    except KeyboardInterrupt:
        caught = time.time()
        cpu0 = time.process_time()
        time.sleep(1.0)
        result = {"interrupted": True, "caught_at": caught, "cpu_after": time.process_time() - cpu0,
                  "state_kept": bool(np.array_equal(np.asarray(neu.V.value.to_decimal(u.mV)), before)),
                  "started": bool(neu.started.value)}
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
