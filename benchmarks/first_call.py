"""First-call time (conversion + tracing + one run): kgraph vs tf.function.

    python3 -m benchmarks.first_call             # 7 rounds (~2-4 min, depending on load)
    python3 -m benchmarks.first_call --quick     # 3 rounds
    python3 -m benchmarks.first_call --markdown  # table as Markdown

Two workloads, each defined in a module written to a new file and imported
afresh for every sample (new file, new names: neither converter's cache can
hit, see benchmarks/conversion.py):

* **RNN layer** (two rows: its weights made eagerly before the first call,
  as a model built on a symbolic input has them; or made inside the first
  trace of the step, which makes TensorFlow trace the step twice, on both
  sides): a Keras layer whose ``call`` loops over the time steps of a
  ``[batch, time, features]`` input in Python (``for t in range(steps)``
  with ``steps`` a tensor), carrying the hidden state and appending each
  step's output to a list that is stacked at the end. kgraph: a
  ``kgraph.GraphLayer`` called inside ``tf.function(autograph=False)``;
  TensorFlow: the same loop in a module function taking a plain
  ``keras.layers.Layer`` (Keras 3 never lets AutoGraph convert ``call``),
  run by ``tf.function`` (AutoGraph on; the list is a ``tf.TensorArray``, which
  is what AutoGraph needs). Timed: build + conversion + tracing + run.
* **200-line function**: a dense 200-line function generated as in
  benchmarks/conversion.py, minus the blocks with a ``return`` inside a loop
  (AutoGraph refuses those): ``kgraph.function(f)(n, x)`` vs
  ``tf.function(f)(n, x)`` on int32 tensors, first call.

kgraph's scratch traces (the one per loop site where a Python number's dtype
is learned) are included: they are part of what a first call costs. The
table also gives how many body traces kgraph made (real + scratch).
Rounds are interleaved (kgraph then TensorFlow, back to back); the ratio is
of medians, with the quartiles of the per-round ratios in brackets.
"""

from __future__ import annotations

import argparse
import statistics
import shutil
import sys
import tempfile
import time

try:
    from benchmarks import common, conversion
except ImportError:   # run as a script
    import common
    import conversion

common.quiet_tensorflow()

import tensorflow as tf  # noqa: E402

import kgraph  # noqa: E402
import kgraph.testing  # noqa: E402
from kgraph.convert import api_impl  # noqa: E402

tf.get_logger().setLevel("ERROR")
tf.autograph.set_verbosity(0)

RNN_SOURCE = '''
import keras
import tensorflow as tf
import kgraph


def _build(self, input_shape):
    d = int(input_shape[-1])
    self.kernel = self.add_weight(shape=(d, self.units), initializer="glorot_uniform")
    self.recurrent = self.add_weight(shape=(self.units, self.units), initializer="orthogonal")
    self.bias = self.add_weight(shape=(self.units,), initializer="zeros")


class KgRNN{suffix}(kgraph.GraphLayer):
    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = units
        self.clip = True

    build = _build

    def call(self, x):
        steps = tf.shape(x)[1]
        h = tf.zeros([tf.shape(x)[0], self.units])
        outputs = []
        for t in range(steps):
            z = tf.matmul(x[:, t], self.kernel) + tf.matmul(h, self.recurrent) + self.bias
            if self.clip:
                z = tf.clip_by_value(z, -5.0, 5.0)
            h = tf.tanh(z)
            outputs.append(h)
        return kgraph.stack(outputs, axis=1)


class TfRNN{suffix}(keras.layers.Layer):
    """Keras 3 never lets AutoGraph convert a layer's call: the loop lives in
    a module function that tf.function converts (what its users write)."""

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = units
        self.clip = True

    build = _build


def tf_forward{suffix}(self, x):
    steps = tf.shape(x)[1]
    h = tf.zeros([tf.shape(x)[0], self.units])
    outputs = tf.TensorArray(tf.float32, size=steps)
    for t in range(steps):
        z = tf.matmul(x[:, t], self.kernel) + tf.matmul(h, self.recurrent) + self.bias
        if self.clip:
            z = tf.clip_by_value(z, -5.0, 5.0)
        h = tf.tanh(z)
        outputs = outputs.write(t, h)
    return tf.transpose(outputs.stack(), [1, 0, 2])
'''

UNITS = 16
X = tf.random.stateless_normal([4, 12, 8], seed=[1, 2])


def _rnn(tmp, which, built_inside=False):
    """The layer's weights are made eagerly before the first call on both
    sides (``built_inside=False``), or inside the first trace of the step
    (``True``): TensorFlow then traces the step twice (variables may only be
    created on a first trace, which it runs again once they exist), on both
    sides alike."""
    module, suffix = conversion.fresh_import(tmp, RNN_SOURCE)
    if which == "kgraph":
        layer = getattr(module, "KgRNN" + suffix)(UNITS)
        step = tf.function(lambda x: layer(x), autograph=False)   # builds if needed
    else:
        layer = getattr(module, "TfRNN" + suffix)(UNITS)
        forward = getattr(module, "tf_forward" + suffix)

        def fwd(x):
            if not layer.built:
                layer.build(x.shape)
            return forward(layer, x)
        step = tf.function(fwd)

    def call():
        if not built_inside:
            layer.build(X.shape)
        return step(X)
    return call


def _rnn_built_inside(tmp, which):
    return _rnn(tmp, which, built_inside=True)


def _long_source():
    """The dense 200-line function of benchmarks/conversion.py, without the
    blocks that return from inside a loop (AutoGraph refuses those)."""
    saved = conversion.BLOCKS
    conversion.BLOCKS = {k: v for k, v in saved.items() if "return" not in v}
    try:
        return conversion.generate("long_200{suffix}", 200, seed=200, family="dense")
    finally:
        conversion.BLOCKS = saved


def _long(tmp, which):
    fn = conversion.fresh_function(tmp, _long_source(), "long_200")
    n, x = tf.constant(4), tf.constant(58)
    f = kgraph.function(fn) if which == "kgraph" else tf.function(fn)
    return lambda: f(n, x)


WORKLOADS = {"Keras RNN layer (12 steps)": _rnn,
             "Keras RNN layer, built in the first trace": _rnn_built_inside,
             "200-line function (dense)": _long}


def _time_first_call(make, tmp, which):
    api_impl.clear_cache()
    call = make(tmp, which)
    with kgraph.testing.TraceCounter() as traces:
        start = time.perf_counter()
        out = call()
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, out)
        seconds = time.perf_counter() - start
    return seconds, (traces.real(part="body"), traces.scratch(part="body"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    tmp = tempfile.mkdtemp(prefix="kgraph_first_call_")
    try:
        common.print_machine_info()
        table = common.Table(["workload", "kgraph", "tf.function", "kgraph/tf.function",
                              "kgraph body traces (real+scratch)"])
        for label, make in WORKLOADS.items():
            _time_first_call(make, tmp, "kgraph")      # warm TensorFlow's own caches
            _time_first_call(make, tmp, "tf")
            ours, theirs, ratios, counts = [], [], [], None
            for _ in range(rounds):
                a, counts = _time_first_call(make, tmp, "kgraph")
                b, _ = _time_first_call(make, tmp, "tf")
                ours.append(a)
                theirs.append(b)
                ratios.append(a / b)
                print(f"  {label}: kgraph {a * 1e3:.0f} ms, tf.function {b * 1e3:.0f} ms",
                      file=sys.stderr)
            q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
            med_a, med_b = statistics.median(ours), statistics.median(theirs)
            table.add(label, common.fmt_time(med_a), common.fmt_time(med_b),
                      f"{med_a / med_b:.2f}x [{q[0]:.2f}-{q[2]:.2f}]",
                      f"{counts[0]} + {counts[1]}")
        common.show(table, args.markdown)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
