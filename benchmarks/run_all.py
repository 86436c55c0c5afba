"""Run every benchmark: control-flow run time, then conversion time.

    python3 -m benchmarks.run_all             # full (10-20 min on 2 busy cores)
    python3 -m benchmarks.run_all --quick     # smoke run (~2-3 min)
    python3 -m benchmarks.run_all --markdown  # tables as Markdown

Each benchmark runs in its own Python process (a fresh TensorFlow runtime,
no caches or threads shared between them). Options are passed through.
The exit status is non-zero if any benchmark reported a wrong result or a
failure.
"""

from __future__ import annotations

import os
import subprocess
import sys

BENCHMARKS = ("benchmarks.control_flow", "benchmarks.conversion", "benchmarks.training")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        return 0
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    status = 0
    for module in BENCHMARKS:
        print(f"\n=== {module} {' '.join(argv)}".rstrip(), flush=True)
        rc = subprocess.call([sys.executable, "-m", module, *argv], cwd=root)
        if rc:
            print(f"=== {module} exited with status {rc}", flush=True)
            status = status or rc
    return status


if __name__ == "__main__":
    sys.exit(main())
