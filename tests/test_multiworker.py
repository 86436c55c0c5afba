"""Multi-worker training: a GraphModel whose train_step has tensor control flow,
with steps_per_execution="epoch", under tf.distribute.MultiWorkerMirroredStrategy
with two worker processes on 127.0.0.1 (TF_CONFIG, collective ops over
localhost), gives the loss curve of one worker on the same global batch.

The test starts both workers itself (this file, run as a script with
``--worker``), bounds them with a timeout and kills them on any failure.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLOBAL_BATCH = 16
EPOCHS = 3
TIMEOUT = 600          # seconds for a whole run of the workers


# ---------------------------------------------------------------------------
# The worker program (also the one-worker reference).

def worker_main(argv):
    import numpy as np
    import tensorflow as tf
    import keras

    import kgraph
    keras.config.disable_traceback_filtering()

    out_path, mode = argv[0], argv[1]
    mode = None if mode == "keras" else mode
    distributed = "TF_CONFIG" in os.environ
    strategy = (tf.distribute.MultiWorkerMirroredStrategy() if distributed
                else tf.distribute.get_strategy())

    class Clipped(kgraph.GraphModel):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(8, activation="tanh")
            self.out = keras.layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

        def train_step(self, data):
            # As in TensorFlow's multi-worker guide: the loss of this replica's
            # share of the global batch, scaled so that the gradients summed
            # over replicas are those of the global batch.
            x, y = data
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self(x, training=True) - y))
                scaled = loss / replicas
            grads = tape.gradient(scaled, self.trainable_variables)
            # The global batch's loss (each replica sees its share only): the
            # decision below is then the same on every replica, and the same
            # as one worker's on the whole batch.
            global_loss = tf.distribute.get_replica_context().all_reduce("MEAN", loss)
            if global_loss > 0.5:                # a tensor condition: tf.cond
                grads = [g * 0.5 for g in grads]
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            return {"global_batch_loss": global_loss}

    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [1.5]], "float32")).astype("float32")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH).with_options(options)

    with strategy.scope():
        keras.utils.set_random_seed(1)
        model = Clipped()
        model.compile(keras.optimizers.SGD(0.05))
        model(x[:1])                             # build the weights and the optimizer
        model.optimizer.build(model.trainable_variables)
    start = time.perf_counter()
    history = model.fit(ds, epochs=EPOCHS, verbose=0, steps_per_execution=mode)
    seconds = time.perf_counter() - start
    result = {"loss": history.history["global_batch_loss"],
              "replicas": strategy.num_replicas_in_sync, "seconds": seconds,
              "weights": [w.tolist() for w in model.get_weights()]}
    with open(out_path, "w") as f:
        json.dump(result, f)


# ---------------------------------------------------------------------------
# The test.

def _free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _env(tf_config=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT,
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _run_workers(tmp_path, mode, n):
    """Run ``n`` workers (n=1: no TF_CONFIG, the default strategy); their
    results, in task order. Every process is killed on failure or timeout."""
    ports = _free_ports(n)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs, outs = [], []
    try:
        for i in range(n):
            out = tmp_path / f"{mode}_{n}_{i}.json"
            outs.append(out)
            config = {"cluster": cluster, "task": {"type": "worker", "index": i}} if n > 1 \
                else None
            procs.append(subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--worker", str(out), mode],
                cwd=ROOT, env=_env(config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True))
        deadline = time.monotonic() + TIMEOUT
        logs = []
        for p in procs:
            try:
                stdout, _ = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"a worker did not finish within {TIMEOUT} s")
            logs.append(stdout)
        for p, log in zip(procs, logs):
            assert p.returncode == 0, f"worker failed:\n{log[-12000:]}"
        return [json.loads(o.read_text()) for o in outs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_two_workers_same_loss_curve_as_one(tmp_path):
    """Both in-graph modes, two workers, against one worker on the same global
    batch: same History on both workers, same final weights."""
    import numpy as np

    start = time.perf_counter()
    one, = _run_workers(tmp_path, "epoch", 1)
    assert one["replicas"] == 1 and len(one["loss"]) == EPOCHS
    assert one["loss"][-1] < one["loss"][0]                 # it learned
    costs = {}
    for mode in ("epoch", "fit"):
        t0 = time.perf_counter()
        two = _run_workers(tmp_path, mode, 2)
        costs[mode] = time.perf_counter() - t0
        assert [w["replicas"] for w in two] == [2, 2], mode
        for worker in two:
            np.testing.assert_allclose(worker["loss"], one["loss"], rtol=1e-5, atol=1e-7)
            for a, b in zip(worker["weights"], one["weights"]):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    print(f"\nmulti-worker test: {time.perf_counter() - start:.0f} s in all; two workers: "
          + ", ".join(f"{m} {c:.0f} s" for m, c in costs.items()))


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--worker":
    worker_main(sys.argv[2:])
