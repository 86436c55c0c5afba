"""GraphModel.fit with steps_per_execution="epoch" / "fit": whole epochs (or the
whole fit) in one graph call, matching Keras' own loop."""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import keras

import kgraph

N, T, V, B = 96, 6, 12, 16


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, V, size=(N, T)).astype("int32")
    y = rng.random((N, 3)).astype("float32")
    return x, y


class TinyRNN(kgraph.GraphModel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed = keras.layers.Embedding(V, 8)
        self.gru = keras.layers.GRU(8)
        self.out = keras.layers.Dense(3)

    def call(self, x):
        return self.out(self.gru(self.embed(x)))


def _model(cls=TinyRNN):
    keras.utils.set_random_seed(0)
    model = cls()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def _fit(model, mode, epochs=3, **kwargs):
    x, y = _data()
    kwargs.setdefault("validation_split", 0.25)
    kwargs.setdefault("verbose", 0)
    return model.fit(x, y, batch_size=B, epochs=epochs, shuffle=False,
                     steps_per_execution=mode, **kwargs)


@pytest.fixture(scope="module")
def keras_reference():
    model = _model()
    history = _fit(model, 1)
    return history.history, [w.numpy() for w in model.weights]


@pytest.mark.parametrize("mode", ["epoch", "fit"])
def test_same_history_and_weights_as_keras_default_loop(mode, keras_reference):
    ref_history, ref_weights = keras_reference
    model = _model()
    history = _fit(model, mode)
    assert set(history.history) == set(ref_history) == {"loss", "mae", "val_loss", "val_mae"}
    for key, values in ref_history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5, atol=1e-6)
    for got, want in zip(model.weights, ref_weights):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode,calls", [("epoch", 3), ("fit", 1)])
def test_graph_calls_and_traces(mode, calls):
    model = _model()
    _fit(model, mode, epochs=3)
    loop = model._kgraph_loop[1]
    assert loop.calls == calls          # one per epoch, or one per fit
    assert loop.trace_count == 1        # no retracing across epochs
    _fit(model, mode, epochs=3)         # a second fit (new arrays) reuses the same trace
    assert model._kgraph_loop[1] is loop and loop.trace_count == 1


def test_step_records_hold_every_step():
    model = _model()
    _fit(model, "fit", epochs=2, validation_split=0.0)
    steps = N // B
    assert [r["epoch"] for r in model.step_records] == [0, 1]
    for record in model.step_records:
        assert record["names"] == ["loss", "mae"]
        assert record["rows"].shape == (steps, 2)
        assert np.all(np.isfinite(record["rows"]))
    # The last row of an epoch is the epoch's logged value (running mean metric).
    last = model.step_records[-1]["rows"][-1]
    np.testing.assert_allclose(last[0], model.history.history["loss"][-1], rtol=1e-6)


def test_early_stopping_acts_between_epochs_in_epoch_mode():
    model = _model()
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    history = _fit(model, "epoch", epochs=5, callbacks=[stopper])
    assert len(history.history["loss"]) == 2   # epoch 2 did not improve by 10.0


def test_early_stopping_acts_at_the_real_epoch_end_inside_one_fit_call():
    model = _model()
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    history = _fit(model, "fit", epochs=5, callbacks=[stopper])
    assert len(history.history["loss"]) == 2   # as in "epoch" mode and Keras' loop
    assert model._kgraph_loop[1].calls == 1     # still one graph call


def test_epoch_end_callbacks_see_that_epochs_weights_in_fit_mode():
    model = _model()
    seen = []
    cb = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append(model.get_weights()[0].copy()))
    _fit(model, "fit", epochs=3, callbacks=[cb])
    reference = _model()
    want = []
    cb = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: want.append(reference.get_weights()[0].copy()))
    _fit(reference, 1, epochs=3, callbacks=[cb])
    assert len(seen) == 3 and not np.allclose(seen[0], seen[2])
    for got, ref in zip(seen, want):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_fit_mode_without_host_calls_refuses_callbacks_that_act_between_epochs(monkeypatch):
    from kgraph.layers import in_graph
    monkeypatch.setattr(in_graph, "host_calls_allowed", lambda strategy: False)  # as on TPU
    model = _model()
    with pytest.raises(kgraph.KGraphError, match="EarlyStopping cannot act between epochs"):
        _fit(model, "fit", callbacks=[keras.callbacks.EarlyStopping()])


def test_fit_mode_without_host_calls_replays_epochs_after_the_call(monkeypatch):
    from kgraph.layers import in_graph
    monkeypatch.setattr(in_graph, "host_calls_allowed", lambda strategy: False)  # as on TPU
    model = _model()
    seen = []
    cb = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: seen.append(("epoch_begin", e)),
        on_epoch_end=lambda e, logs: seen.append(("epoch_end", e)))
    history = _fit(model, "fit", epochs=2, callbacks=[cb])
    assert seen == [("epoch_begin", 0), ("epoch_end", 0), ("epoch_begin", 1), ("epoch_end", 1)]
    assert len(history.history["val_loss"]) == 2


@pytest.mark.parametrize("mode", ["epoch", "fit"])
def test_batch_hooks_once_per_execution_epoch_hooks_per_epoch(mode):
    model = _model()
    seen = []
    cb = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: seen.append(("epoch_begin", e)),
        on_epoch_end=lambda e, logs: seen.append(("epoch_end", e)),
        on_train_batch_begin=lambda b, logs: seen.append(("batch_begin", b)),
        on_train_batch_end=lambda b, logs: seen.append(("batch_end", b)))
    _fit(model, mode, epochs=2, callbacks=[cb], validation_split=0.0)
    # As Keras fires them with steps_per_execution = the steps of an epoch:
    # one execution per epoch, at the epoch's real boundaries (in "fit" mode
    # from host calls inside the one graph call).
    assert seen == [("epoch_begin", 0), ("batch_begin", 0), ("batch_end", N // B - 1),
                    ("epoch_end", 0), ("epoch_begin", 1), ("batch_begin", 0),
                    ("batch_end", N // B - 1), ("epoch_end", 1)]


def test_progress_bar_moves_during_the_graph_call(capfd):
    model = _model()
    x, y = _data()
    model.fit(x, y, batch_size=B, epochs=1, shuffle=False, verbose=1,
              steps_per_execution="fit", progress_every=2)
    out = capfd.readouterr().out
    # Keras' own progress bar, updated from inside the call (at step 2; at
    # step 4 unless within Keras' 0.05 s update interval), then finalized.
    assert "2/6" in out and "6/6" in out and out.index("2/6") < out.index("6/6")


def _dense_io():
    inputs = keras.Input((T,), dtype="int32")
    return inputs, keras.layers.Dense(3)(keras.layers.Rescaling(0.1)(inputs))


def _printed(out):
    """What a terminal shows: the last carriage-return segment of each line,
    without colours and with times replaced."""
    lines = []
    for line in out.split("\n"):
        line = re.sub(r"\x1b\[[0-9;]*m", "", line.split("\r")[-1]).rstrip()
        line = re.sub(r"\d+(\.\d+)?(ms|s|us)(/step)?", "T", line)
        if line:
            lines.append(line)
    return lines


@pytest.mark.parametrize("verbose", [1, 2])
@pytest.mark.parametrize("mode", ["epoch", "fit"])
def test_verbose_prints_what_keras_prints_once_and_in_order(mode, verbose, capfd):
    def dense():
        keras.utils.set_random_seed(0)
        model = kgraph.GraphModel(*_dense_io())
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        return model

    _fit(dense(), 1, epochs=2, verbose=verbose)
    want = _printed(capfd.readouterr().out)
    _fit(dense(), mode, epochs=2, verbose=verbose)
    got = _printed(capfd.readouterr().out)
    assert [l for l in got if l.startswith("Epoch")] == ["Epoch 1/2", "Epoch 2/2"]
    assert got == want


class NaNAtStep(kgraph.GraphModel):
    """A custom step that fails on purpose at its 4th step, before updating."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(3)
        self.steps = tf.Variable(0)

    def call(self, x):
        return self.dense(tf.cast(x, tf.float32))

    def train_step(self, data):
        x, y = data
        self.steps.assign_add(1)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((self(x) - y) ** 2)
        assert self.steps < 4, "diverged"
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss}


def test_failing_step_names_the_step_and_line_and_keeps_the_model_usable():
    model = _model(NaNAtStep)
    x, y = _data()
    model(x[:1])
    with pytest.raises(AssertionError) as info:
        model.fit(x, y, batch_size=B, epochs=2, verbose=0, shuffle=False,
                  steps_per_execution="fit")
    err = info.value
    assert "diverged" in str(err)
    assert f"{__file__}:" in str(err)
    assert any("training step 4 of this graph call (epoch 1, batch 4)" in n
               for n in err.__notes__)
    assert int(model.optimizer.iterations.numpy()) == 3   # the failing update did not apply
    assert all(np.all(np.isfinite(w.numpy())) for w in model.weights)
    assert model.predict(x[:4], verbose=0).shape == (4, 3)


@pytest.mark.slow
def test_mirrored_strategy_two_cpus_same_loss_curve(tmp_path):
    """Two logical CPU devices must be configured before TF starts: run in a
    subprocess that trains on one device and under MirroredStrategy."""
    script = tmp_path / "mirrored.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras, kgraph
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_in_graph_loops import TinyRNN, _data, B

        def train(strategy):
            keras.utils.set_random_seed(0)
            with strategy.scope():
                model = TinyRNN()
                model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
            x, y = _data()
            ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(B)
            h = model.fit(ds, epochs=3, verbose=0, steps_per_execution="fit")
            return h.history["loss"]

        one = train(tf.distribute.get_strategy())
        two = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
        print(json.dumps({{"one": one, "two": two}}))
    """))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # MirroredStrategy's cross-device all-reduce deadlocks on one inter-op thread
    # (a runner that sets TF_NUM_INTEROP_THREADS=1 to stay quiet hung here).
    env.pop("TF_NUM_INTEROP_THREADS", None)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    import json
    curves = json.loads(out.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(curves["two"], curves["one"], rtol=1e-4)
    assert curves["one"][-1] < curves["one"][0]


def test_many_models_do_not_trigger_tensorflows_retracing_warning(caplog):
    """Each model's in-graph loop is its own tf.function (TensorFlow counts
    retraces per Python function: one shared loop function would warn after
    five models)."""
    import logging
    x, y = _data()
    caplog.set_level(logging.WARNING)
    for _ in range(6):
        model = kgraph.GraphModel(*_dense_io())
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=B, epochs=1, verbose=0, steps_per_execution="epoch")
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


@pytest.mark.parametrize("mode", ["epoch", "fit"])
def test_learning_rate_scheduler_and_checkpoint_act_between_epochs(mode, tmp_path):
    def run(mode, path):
        keras.utils.set_random_seed(0)
        model = kgraph.GraphModel(*_dense_io())
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        callbacks = [keras.callbacks.LearningRateScheduler(lambda e, lr: 0.1 / (e + 1)),
                     keras.callbacks.ModelCheckpoint(str(path / "w{epoch}.weights.h5"),
                                                     save_weights_only=True)]
        history = _fit(model, mode, epochs=3, callbacks=callbacks)
        return history.history, model

    (tmp_path / "k").mkdir()
    (tmp_path / "g").mkdir()
    want, _ = run(1, tmp_path / "k")
    got, model = run(mode, tmp_path / "g")
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-5)
    np.testing.assert_allclose(got["learning_rate"], [0.1, 0.05, 0.1 / 3], rtol=1e-6)
    # The checkpoint of epoch 2 holds that epoch's weights, not the final ones.
    reference = kgraph.GraphModel(*_dense_io())
    reference.load_weights(str(tmp_path / "k" / "w2.weights.h5"))
    model.load_weights(str(tmp_path / "g" / "w2.weights.h5"))
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_second_fit_reusing_the_loop_calls_its_own_callbacks():
    model = _model()
    first, second = [], []
    _fit(model, "fit", epochs=2, callbacks=[keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: first.append(e))])
    _fit(model, "fit", epochs=2, callbacks=[keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: second.append(e))])
    assert model._kgraph_loop[1].trace_count == 1
    assert first == [0, 1] and second == [0, 1]
