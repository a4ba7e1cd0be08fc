"""``lapicque run --help`` through the package, then which heavy modules it loaded (one ``LOADED ...`` line)."""

import sys

import lapicque
import lapicque.cli

def main():
    assert lapicque.__version__
    try:
        lapicque.cli.main(["run", "--help"])
    except SystemExit:
        pass
    print("LOADED", " ".join(sorted(m for m in ("jax", "jaxlib", "saiunit", "brainstate", "numpy") if m in sys.modules)))


if __name__ == "__main__":
    main()
