"""Timing helpers for the benchmarks: robust on a noisy, shared 2-core machine.

The rules they follow:

* warm up every variant first (tracing, XLA compilation, caches) and never
  time the warm-up calls;
* take many samples per variant and report the median and the IQR (quartiles),
  never the mean, which one descheduled sample can drag anywhere;
* interleave the variants being compared: sample round ``r`` times each
  variant once, in an order that rotates from round to round, so a burst of
  noise from another tenant hits every variant about equally (and no variant
  always runs first, right after the untimed setup);
* a sample is the mean of ``number`` back-to-back calls, ``number`` chosen
  per variant so that a sample lasts ~``sample_seconds`` (fast calls are not
  dominated by timer resolution);
* the garbage collector is collected before and disabled during a sample.

Ratios between two variants are given two ways: the ratio of the medians, and
the median of the per-round ratios (paired: both samples of a round ran back
to back, under the same background load), with the quartiles of the latter.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import platform
import statistics
import sys
import time
from typing import Callable


# ---------------------------------------------------------------------------
# Variants and statistics

@dataclasses.dataclass
class Variant:
    """One thing to time.

    ``fn()`` is the timed call. With ``setup``, each sample first runs
    ``setup()`` untimed and then times one ``fn(setup_result)`` (for work
    that must start from a fresh state, e.g. a conversion with cold caches).
    """

    name: str
    fn: Callable
    setup: Callable | None = None


@dataclasses.dataclass
class Stats:
    name: str
    samples: list            # seconds per call, one per round, in round order
    number: int              # calls per sample

    @property
    def median(self):
        return statistics.median(self.samples)

    @property
    def q1(self):
        return _quartiles(self.samples)[0]

    @property
    def q3(self):
        return _quartiles(self.samples)[1]

    @property
    def iqr(self):
        q1, q3 = _quartiles(self.samples)
        return q3 - q1

    @property
    def min(self):
        return min(self.samples)

    @property
    def rel_iqr(self):
        """IQR as a fraction of the median (a noise indicator)."""
        return self.iqr / self.median if self.median else float("nan")


def _quartiles(xs):
    if len(xs) < 2:
        return xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


@dataclasses.dataclass
class Ratio:
    of_medians: float        # median(a) / median(b)
    paired_median: float     # median over rounds of a_r / b_r
    paired_q1: float
    paired_q3: float


def ratio(a: Stats, b: Stats) -> Ratio:
    """a / b, as a ratio of medians and as paired per-round ratios."""
    per_round = [x / y for x, y in zip(a.samples, b.samples) if y > 0]
    q1, q3 = _quartiles(per_round)
    return Ratio(a.median / b.median, statistics.median(per_round), q1, q3)


# ---------------------------------------------------------------------------
# Timing

def _calibrate(variant, sample_seconds, max_number):
    """Calls per sample so that a sample lasts about ``sample_seconds``."""
    if variant.setup is not None:
        return 1
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            variant.fn()
        elapsed = time.perf_counter() - start
        if elapsed >= sample_seconds * 0.2 or number >= max_number:
            break
        number *= 10
    per_call = max(elapsed / number, 1e-9)
    return max(1, min(max_number, round(sample_seconds / per_call)))


def _sample(variant, number):
    state = variant.setup() if variant.setup is not None else None
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        if variant.setup is not None:
            start = time.perf_counter()
            variant.fn(state)
            return time.perf_counter() - start
        fn = variant.fn
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number
    finally:
        if enabled:
            gc.enable()


def run_interleaved(variants, *, repeats=15, warmup=2, sample_seconds=0.05,
                    max_number=10_000, progress=None):
    """Time ``variants`` (a list of Variant) round-robin; return {name: Stats}.

    ``warmup`` untimed calls (or setup+call) per variant, then calibration,
    then ``repeats`` rounds; in round ``r`` the variants run in the order of
    the list rotated by ``r``.
    """
    variants = list(variants)
    for v in variants:
        for _ in range(warmup):
            if v.setup is not None:
                v.fn(v.setup())
            else:
                v.fn()
    numbers = {v.name: _calibrate(v, sample_seconds, max_number) for v in variants}
    samples = {v.name: [] for v in variants}
    k = len(variants)
    for r in range(repeats):
        order = variants[r % k:] + variants[:r % k]
        for v in order:
            samples[v.name].append(_sample(v, numbers[v.name]))
        if progress is not None:
            progress(r + 1, repeats)
    return {v.name: Stats(v.name, samples[v.name], numbers[v.name]) for v in variants}


# ---------------------------------------------------------------------------
# Checking results

def to_numpy(value):
    """Nested structure of tensors / numbers -> same structure of numpy / Python values."""
    import numpy as np

    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy(v) for v in value)
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if hasattr(value, "numpy"):
        return value.numpy()
    if hasattr(value, "stack") and hasattr(value, "size"):      # tf.TensorArray
        return value.stack().numpy()
    return np.asarray(value)


def assert_same(reference, other, *, rtol=1e-5, atol=1e-6, what=""):
    """Assert two results (nested tensors/numbers) agree: exact for integers and
    booleans, allclose for floats; same structure and shapes."""
    import numpy as np

    a, b = to_numpy(reference), to_numpy(other)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        assert isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and \
            len(a) == len(b), f"{what}: structure differs: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, rtol=rtol, atol=atol, what=f"{what}[{i}]")
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        assert np.allclose(a, b, rtol=rtol, atol=atol), f"{what}: {a!r} vs {b!r}"
    else:
        assert np.array_equal(a, b), f"{what}: {a!r} vs {b!r}"


# ---------------------------------------------------------------------------
# Formatting

def fmt_time(seconds):
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def fmt_ratio(x, digits=2):
    """``digits`` decimals, or ``digits`` significant digits for ratios below 0.1."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if 0 < abs(x) < 0.1:
        return f"{x:.{digits}g}"
    return f"{x:.{digits}f}"


def fmt_pct(x):
    """A fraction as a percentage (e.g. the IQR relative to the median)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x * 100:.0f}%"


class Table:
    """A small table: ``text()`` for the terminal (aligned), ``markdown()`` for docs.

    ``align`` is a string of "l"/"r", one per column (default: first column
    left, the others right).
    """

    def __init__(self, columns, rows=(), align=None, title=None, notes=()):
        self.columns = list(columns)
        self.rows = [list(map(str, r)) for r in rows]
        self.align = align or "l" + "r" * (len(self.columns) - 1)
        self.title = title
        self.notes = list(notes)

    def add(self, *row):
        self.rows.append(list(map(str, row)))

    def _widths(self):
        return [max(len(str(c)), *(len(r[i]) for r in self.rows)) if self.rows
                else len(str(c)) for i, c in enumerate(self.columns)]

    def text(self):
        w = self._widths()

        def line(cells):
            return "  ".join(c.ljust(w[i]) if self.align[i] == "l" else c.rjust(w[i])
                             for i, c in enumerate(cells)).rstrip()

        out = []
        if self.title:
            out.append(self.title)
        out.append(line(self.columns))
        out.append("  ".join("-" * x for x in w))
        out.extend(line(r) for r in self.rows)
        out.extend(self.notes)
        return "\n".join(out)

    def markdown(self):
        w = self._widths()

        def line(cells):
            return "| " + " | ".join(c.ljust(w[i]) if self.align[i] == "l" else c.rjust(w[i])
                                     for i, c in enumerate(cells)) + " |"

        sep = "|" + "|".join(("-" * (x + 1) + ":") if self.align[i] == "r" else
                             (":" + "-" * (x + 1)) for i, x in enumerate(w)) + "|"
        out = []
        if self.title:
            out.append(f"**{self.title}**\n")
        out.append(line([str(c) for c in self.columns]))
        out.append(sep)
        out.extend(line(r) for r in self.rows)
        if self.notes:
            out.append("")
            out.extend(self.notes)
        return "\n".join(out)


# ---------------------------------------------------------------------------
# Environment

def quiet_tensorflow():
    """Silence TF's C++ and Python logging (call before importing TF)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def machine_info():
    """A dict describing the machine and software (for the report header)."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        info["loadavg"] = "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        pass
    if "tensorflow" in sys.modules:
        info["tensorflow"] = sys.modules["tensorflow"].__version__
    try:
        import gast
        info["gast"] = getattr(gast, "__version__", "?")
    except ImportError:
        pass
    if "kgraph" in sys.modules:
        info["kgraph"] = sys.modules["kgraph"].__version__
    return info


def print_machine_info():
    info = machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))


def add_common_args(parser):
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: few repeats, short samples")
    parser.add_argument("--repeats", type=int, default=None,
                        help="rounds of interleaved samples (default: 21, 3 with --quick)")
    parser.add_argument("--markdown", action="store_true",
                        help="print the tables as Markdown (for docs/benchmarks.md)")
    return parser


def progress_printer(label):
    """A progress callback that writes 'label: round r/n' to stderr on one line
    (None when stderr is not a terminal)."""
    if not sys.stderr.isatty():
        return None

    def progress(r, n):
        end = "\n" if r == n else ""
        print(f"\r  {label}: round {r}/{n}", end=end, file=sys.stderr, flush=True)
    return progress


def show(table, markdown):
    print()
    print(table.markdown() if markdown else table.text())
    try:
        print("\nloadavg at the end: %.2f %.2f %.2f" % os.getloadavg())
    except OSError:
        pass

