"""kgraph.GraphLayer and kgraph.GraphModel inside Keras 3 on TensorFlow.

Each test states the gap it closes: plain Python control flow on tensors in a
layer's ``call`` or a model's steps, run wherever Keras runs them.
"""

import inspect

import numpy as np
import pytest
import tensorflow as tf
import keras

import kgraph
from keras.src.models.functional import Functional

# Raised by TensorFlow when Python control flow meets a symbolic tensor.
_GRAPH_ERROR = tf.errors.OperatorNotAllowedInGraphError


def _data(n=64, features=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    w = np.array([[1.0], [2.0], [-1.0], [0.5], [-0.5]][:features], "float32")
    return x, x @ w


# --------------------------------------------------------------------------
# (a) a layer with `if tf.reduce_sum(...) > 0:` in call
# --------------------------------------------------------------------------

class _SignSwitchBody:
    """The layer's logic, shared by the plain Keras layer and the GraphLayer."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="glorot_uniform", name="w")

    def call(self, x):
        h = tf.matmul(x, self.w)
        if tf.reduce_sum(h) > 0:
            y = h * 2.0
        else:
            y = -h + 1.0
        return y

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class PlainSignSwitch(_SignSwitchBody, keras.layers.Layer):
    def compute_output_shape(self, input_shape):
        # So that Keras' symbolic shape inference does not run call; the
        # failure then happens where the issue says: in fit/predict.
        return (*input_shape[:-1], self.units)


@keras.saving.register_keras_serializable(package="kgraph_tests")
class SignSwitch(_SignSwitchBody, kgraph.GraphLayer):
    pass


def _sign_switch_reference(x, w):
    h = x @ w
    return h * 2.0 if h.sum() > 0 else -h + 1.0


def _inputs_for_both_branches(layer):
    """Two batches: one whose h = x @ w sums above zero, one below."""
    x, _ = _data(8, 3, seed=1)
    w = layer.get_weights()[0]
    x_pos = x if (x @ w).sum() > 0 else -x
    return x_pos, -x_pos


def test_plain_keras_layer_fails_in_predict_and_fit():
    """The gap: Keras runs call in a graph with AutoGraph off."""
    model = keras.Sequential([keras.Input((3,)), PlainSignSwitch(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, _ = _data(8, 3)
    with pytest.raises(_GRAPH_ERROR, match="(?i)not allowed"):
        model.predict(x, verbose=0)
    with pytest.raises(_GRAPH_ERROR, match="(?i)not allowed"):
        model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0)


def test_plain_keras_layer_fails_symbolic_shape_inference_without_compute_output_shape():
    class NoShape(_SignSwitchBody, keras.layers.Layer):
        pass

    with pytest.raises(_GRAPH_ERROR, match="(?i)not allowed"):
        keras.Sequential([keras.Input((3,)), NoShape(2)])


def test_graph_layer_keeps_call_signature():
    layer = SignSwitch(2)
    assert list(inspect.signature(layer.call).parameters) == ["x"]
    assert list(inspect.signature(SignSwitch.call).parameters) == ["self", "x"]
    assert inspect.unwrap(SignSwitch.call) is _SignSwitchBody.call
    # the mixin keeps the user's own function: the plain layer is unaffected
    assert PlainSignSwitch.call is _SignSwitchBody.call


def test_graph_layer_eager_and_tf_function_match_reference():
    layer = SignSwitch(2)
    layer.build((None, 3))
    x_pos, x_neg = _inputs_for_both_branches(layer)
    w = layer.get_weights()[0]
    traced = tf.function(lambda x: layer(x))
    autographed = tf.function(lambda x: layer(x), autograph=True)
    for x in (x_pos, x_neg):
        ref = _sign_switch_reference(x, w)
        np.testing.assert_allclose(layer(x).numpy(), ref, rtol=1e-5)
        np.testing.assert_allclose(traced(x).numpy(), ref, rtol=1e-5)
        np.testing.assert_allclose(autographed(x).numpy(), ref, rtol=1e-5)
    # both inputs ran through one trace: a graph cond, not a Python branch
    assert traced.experimental_get_tracing_count() == 1
    ops = {op.type for op in traced.get_concrete_function(
        tf.TensorSpec([8, 3], tf.float32)).graph.get_operations()}
    assert ops & {"If", "StatelessIf"}


def _sequential():
    return keras.Sequential([keras.Input((3,)), SignSwitch(2, name="switch")])


def _functional():
    inputs = keras.Input((3,))
    h = keras.layers.Dense(3, name="pre")(inputs)
    outputs = SignSwitch(2, name="switch")(h)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("build", [_sequential, _functional], ids=["sequential", "functional"])
def test_graph_layer_in_plain_keras_models_predict_and_save_load(build, tmp_path):
    keras.utils.set_random_seed(0)
    model = build()
    assert model.output_shape == (None, 2)   # symbolic shape inference ran call
    x, _ = _data(8, 3, seed=1)
    # a batch per branch
    outs = [model(b).numpy() for b in (x, -x)]
    for batch, eager in zip((x, -x), outs):
        np.testing.assert_allclose(model.predict(batch, batch_size=8, verbose=0), eager,
                                   rtol=1e-5)
        np.testing.assert_allclose(tf.function(model)(batch).numpy(), eager, rtol=1e-5)
    # the two batches took different branches (y = 2h vs y = 1 - h)
    assert not np.allclose(outs[0], -outs[1])

    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.get_layer("switch")) is SignSwitch
    for batch, eager in zip((x, -x), outs):
        np.testing.assert_allclose(loaded.predict(batch, batch_size=8, verbose=0), eager,
                                   rtol=1e-5)
        np.testing.assert_allclose(loaded(batch).numpy(), eager, rtol=1e-5)


def test_graph_layer_trains_in_fit():
    keras.utils.set_random_seed(0)
    model = _functional()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    x, _ = _data(64, 3)
    y = np.abs(x[:, :2]) + 1.0
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]


def test_graph_layer_runs_eagerly_under_run_eagerly():
    keras.utils.set_random_seed(0)
    model = _sequential()
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    x, _ = _data(8, 3)
    model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    np.testing.assert_allclose(model.predict(x, batch_size=8, verbose=0), model(x).numpy(),
                               rtol=1e-5)


def test_do_not_convert_call_is_left_alone():
    class Marked(kgraph.GraphLayer):
        @kgraph.do_not_convert
        def call(self, x):
            return x + 1.0

    assert "call" in vars(Marked) and not hasattr(Marked.call, "__wrapped__")


def test_subclass_of_graph_layer_subclass_and_super_call():
    class Base(kgraph.GraphLayer):
        def call(self, x):
            if tf.reduce_sum(x) > 0:
                x = x * 2.0
            return x

    class Child(Base):
        def call(self, x):
            y = super().call(x)
            if tf.reduce_max(y) > 3.0:
                y = y - 3.0
            return y

    class Inherits(Base):
        pass

    assert Inherits.call is Base.call     # wrapped once, on Base
    child = Child()
    f = tf.function(lambda x: child(x))
    for v in ([1.0, 1.0], [1.0, 2.0], [-1.0, -2.0]):
        x = tf.constant([v])
        expected = np.array([v]) * (2.0 if sum(v) > 0 else 1.0)
        if expected.max() > 3.0:
            expected = expected - 3.0
        np.testing.assert_allclose(f(x).numpy(), expected)
        np.testing.assert_allclose(child(x).numpy(), expected)


# --------------------------------------------------------------------------
# (b) `training` and `mask` reach a converted call
# --------------------------------------------------------------------------

class TrainingGate(kgraph.GraphLayer):
    """In training, shift towards zero by the sign of the batch mean; count
    training calls in a variable; at inference, identity."""

    def build(self, input_shape):
        self.training_calls = self.add_weight(shape=(), initializer="zeros",
                                              trainable=False, name="training_calls")

    def call(self, x, training=None):
        if training:
            self.training_calls.assign_add(1.0)
            if tf.reduce_mean(x) > 0:
                y = x - 1.0
            else:
                y = x + 1.0
        else:
            y = x
        return y


def test_training_argument_in_control_flow():
    layer = TrainingGate()
    x = tf.constant([[1.0, 3.0]])
    np.testing.assert_allclose(layer(x).numpy(), [[1.0, 3.0]])
    np.testing.assert_allclose(layer(x, training=True).numpy(), [[0.0, 2.0]])
    np.testing.assert_allclose(layer(-x, training=True).numpy(), [[0.0, -2.0]])
    # a tensor `training` becomes a graph cond, both ways in one trace
    f = tf.function(lambda a, t: layer(a, training=t))
    np.testing.assert_allclose(f(x, tf.constant(True)).numpy(), [[0.0, 2.0]])
    np.testing.assert_allclose(f(x, tf.constant(False)).numpy(), [[1.0, 3.0]])
    assert f.experimental_get_tracing_count() == 1


def test_training_argument_flows_from_fit_and_predict():
    keras.utils.set_random_seed(0)
    gate = TrainingGate(name="gate")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2), gate])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((32, 2), "float32")
    model.fit(x, np.zeros((32, 2), "float32"), epochs=1, batch_size=8, verbose=0)
    assert float(gate.training_calls.numpy()) == 4.0    # training=True in each step
    before = model.layers[0](x).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), before, rtol=1e-5)
    model.evaluate(x, np.zeros((32, 2), "float32"), verbose=0)
    assert float(gate.training_calls.numpy()) == 4.0    # inference left it alone


class MaskedMean(kgraph.GraphLayer):
    def compute_mask(self, x, mask=None):
        return None    # the time axis is reduced away

    def call(self, x, mask=None):
        if mask is None:
            return tf.reduce_mean(x, axis=1)
        m = tf.cast(mask, x.dtype)[:, :, None]
        total = tf.reduce_sum(x * m, axis=1)
        count = tf.reduce_sum(m, axis=1)
        if tf.reduce_min(count) > 0:
            out = total / count
        else:
            out = total / tf.maximum(count, 1.0)
        return out


def test_mask_argument_reaches_converted_call():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,), dtype="int32")
    emb = keras.layers.Embedding(10, 3, mask_zero=True, name="emb")
    outputs = MaskedMean()(emb(inputs))
    model = keras.Model(inputs, outputs)
    ids = np.array([[1, 2, 0, 0], [3, 4, 5, 0]], "int32")
    table = emb.get_weights()[0]
    expected = np.stack([table[[1, 2]].mean(0), table[[3, 4, 5]].mean(0)])
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected, rtol=1e-5)
    np.testing.assert_allclose(model(ids).numpy(), expected, rtol=1e-5)


# --------------------------------------------------------------------------
# (c) GraphModel: custom steps with tensor control flow train in fit
# --------------------------------------------------------------------------

class Alternating(kgraph.GraphModel):
    """GAN-style alternation: two sub-networks with their own optimizers,
    updated on alternate steps chosen by a tensor step counter. (The
    objective is cooperative, so that the loss must fall.)"""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = keras.layers.Dense(8, activation="tanh", name="first")
        self.second = keras.layers.Dense(1, name="second")
        self.step = tf.Variable(0, trainable=False, dtype=tf.int64)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def compile(self, first_optimizer, second_optimizer, **kwargs):
        super().compile(**kwargs)
        self.first_optimizer = first_optimizer
        self.second_optimizer = second_optimizer

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, x):
        return self.second(self.first(x))

    def update(self, part, optimizer, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self(x, training=True) - y))
        grads = tape.gradient(loss, part.trainable_variables)
        optimizer.apply_gradients(zip(grads, part.trainable_variables))
        return loss

    def train_step(self, data):
        x, y = data
        if self.step % 2 == 0:
            loss = self.update(self.first, self.first_optimizer, x, y)
        else:
            loss = self.update(self.second, self.second_optimizer, x, y)
        self.step.assign_add(1)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def _alternating():
    keras.utils.set_random_seed(0)
    model = Alternating()
    model.compile(first_optimizer=keras.optimizers.Adam(0.02),
                  second_optimizer=keras.optimizers.Adam(0.02))
    model(np.zeros((1, 3), "float32"))
    return model


def test_gan_style_alternating_updates_by_tensor_step_counter():
    model = _alternating()
    x, y = _data(16, 3)
    first0 = [w.copy() for w in model.first.get_weights()]
    second0 = [w.copy() for w in model.second.get_weights()]
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)      # step 0: only `first`
    assert int(model.step.numpy()) == 1
    assert not np.allclose(model.first.get_weights()[0], first0[0])
    np.testing.assert_array_equal(model.second.get_weights()[0], second0[0])
    first1 = [w.copy() for w in model.first.get_weights()]
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)      # step 1: only `second`
    assert int(model.step.numpy()) == 2
    np.testing.assert_array_equal(model.first.get_weights()[0], first1[0])
    assert not np.allclose(model.second.get_weights()[0], second0[0])


def test_gan_style_alternating_loss_falls_in_fit():
    model = _alternating()
    x, y = _data(128, 3)
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert int(model.step.numpy()) == 6 * 8
    assert losses[-1] < 0.5 * losses[0], losses


class Accumulating(kgraph.GraphModel):
    """Gradient accumulation: the batch is split into micro-batches; their
    number k is a tensor, so `for i in range(k)` becomes a graph loop."""

    def __init__(self, micro_batch_size, **kwargs):
        super().__init__(**kwargs)
        self.micro_batch_size = micro_batch_size
        self.dense = keras.layers.Dense(1)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        mb = self.micro_batch_size
        k = (tf.shape(x)[0] + mb - 1) // mb
        grad_sums = [tf.zeros_like(v) for v in self.trainable_variables]
        loss_sum = 0.0
        for i in range(k):
            xs = x[i * mb:(i + 1) * mb]
            ys = y[i * mb:(i + 1) * mb]
            with tf.GradientTape() as tape:
                loss = self.compute_loss(x=xs, y=ys, y_pred=self(xs, training=True))
            grads = tape.gradient(loss, self.trainable_variables)
            grad_sums = [s + g for s, g in zip(grad_sums, grads)]
            loss_sum += loss
        kf = tf.cast(k, tf.float32)
        self.optimizer.apply_gradients(
            zip([s / kf for s in grad_sums], self.trainable_variables))
        self.loss_tracker.update_state(loss_sum / kf)
        return {"loss": self.loss_tracker.result()}


def test_gradient_accumulation_equals_one_big_batch_step():
    """Equal micro-batches of a mean loss: the accumulated SGD step is the
    full-batch SGD step."""
    x, y = _data(32, 3)
    keras.utils.set_random_seed(0)
    acc = Accumulating(micro_batch_size=8)
    acc.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    acc(x[:1])
    keras.utils.set_random_seed(0)
    ref = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    ref.set_weights(acc.get_weights())
    ref.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    acc.fit(x, y, epochs=1, batch_size=32, verbose=0)
    ref.fit(x, y, epochs=1, batch_size=32, verbose=0)
    for a, r in zip(acc.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-6)


def test_gradient_accumulation_loss_falls_in_fit():
    x, y = _data(96, 3)
    keras.utils.set_random_seed(0)
    model = Accumulating(micro_batch_size=8)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model(x[:1])   # build before the step: grad_sums needs the variables
    # batches of 40 and a last batch of 16: k is 5 then 2
    history = model.fit(x, y, epochs=5, batch_size=40, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < 0.2 * losses[0], losses


class ConditionalUpdate(kgraph.GraphModel):
    """Apply gradients only while the batch loss is above a threshold."""

    def __init__(self, threshold, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.dense = keras.layers.Dense(1)
        self.updates = tf.Variable(0, trainable=False, dtype=tf.int64)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
        if loss > self.threshold:
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            self.updates.assign_add(1)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def _conditional(threshold):
    keras.utils.set_random_seed(0)
    model = ConditionalUpdate(threshold)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_conditional_update_loss_falls_then_updates_stop():
    x, y = _data(64, 3)
    model = _conditional(threshold=0.3)
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < 0.2 * losses[0], losses
    updates = int(model.updates.numpy())
    assert 0 < updates < 8 * 4          # some steps were skipped by the graph cond
    final = model.evaluate(x, y, verbose=0)
    assert final < 0.3 * 1.5


def test_conditional_update_never_fires_above_initial_loss():
    x, y = _data(64, 3)
    model = _conditional(threshold=1e6)
    model(x[:1])
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert int(model.updates.numpy()) == 0
    for b, a in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


class LoopRNN(kgraph.GraphModel):
    """An RNN stepped by a Python loop over a tensor length, collecting the
    hidden states in a list."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.input_proj = keras.layers.Dense(units, name="input_proj")
        self.recurrent = keras.layers.Dense(units, use_bias=False, name="recurrent")
        self.head = keras.layers.Dense(1, name="head")

    def call(self, x):
        h = tf.zeros([tf.shape(x)[0], self.units])
        outputs = []
        for t in range(tf.shape(x)[1]):
            h = tf.tanh(self.input_proj(x[:, t, :]) + self.recurrent(h))
            outputs.append(h)
        states = kgraph.stack(outputs)               # [time, batch, units]
        return self.head(tf.reduce_mean(states, axis=0))


def _sequences(n=64, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, 2)).astype("float32")
    y = (x[:, :, 0].mean(axis=1, keepdims=True) - 0.5 * x[:, -1:, 1]).astype("float32")
    return x, y


def _rnn_reference(model, x):
    wi, bi = model.input_proj.get_weights()
    (wr,) = model.recurrent.get_weights()
    wh, bh = model.head.get_weights()
    h = np.zeros((x.shape[0], model.units), "float32")
    states = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t, :] @ wi + bi + h @ wr)
        states.append(h)
    return np.mean(states, axis=0) @ wh + bh


def test_rnn_list_append_and_stack_matches_reference():
    keras.utils.set_random_seed(0)
    model = LoopRNN(4)
    x, _ = _sequences(8)
    eager = model(x).numpy()
    np.testing.assert_allclose(eager, _rnn_reference(model, x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), eager, rtol=1e-4, atol=1e-5)
    # another sequence length through the same traced function
    f = tf.function(model, input_signature=[tf.TensorSpec([None, None, 2], tf.float32)])
    x3, _ = _sequences(5, steps=3, seed=2)
    np.testing.assert_allclose(f(x3).numpy(), _rnn_reference(model, x3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(f(x).numpy(), eager, rtol=1e-4, atol=1e-5)


def test_rnn_loss_falls_in_fit():
    keras.utils.set_random_seed(0)
    model = LoopRNN(8)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    x, y = _sequences(128)
    history = model.fit(x, y, epochs=6, batch_size=32, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses


class LoopRNNLayer(kgraph.GraphLayer):
    """The same loop as a layer, for plain Keras models."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.proj = keras.layers.Dense(units)

    def call(self, x):
        h = tf.zeros([tf.shape(x)[0], self.units])
        outputs = []
        for t in range(tf.shape(x)[1]):
            h = tf.tanh(self.proj(tf.concat([x[:, t, :], h], axis=-1)))
            outputs.append(h)
        return tf.reduce_mean(kgraph.stack(outputs), axis=0)


def _rnn_graph_model():
    return LoopRNN(4)


def _rnn_layer_in_sequential():
    return keras.Sequential([keras.Input((6, 2)), LoopRNNLayer(4), keras.layers.Dense(1)])


@pytest.mark.parametrize("build", [_rnn_graph_model, _rnn_layer_in_sequential],
                         ids=["graph_model", "graph_layer_in_sequential"])
def test_rnn_trains_under_jit_compile(build):
    """Keras' XLA steps: the converter must be told the trace is for XLA
    (a list grown in a graph loop needs a fixed capacity there), both for a
    GraphModel and for a GraphLayer inside a plain keras.Sequential."""
    x, y = _sequences(64)
    keras.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse", jit_compile=True)
    history = model.fit(x, y, epochs=3, batch_size=32, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], losses


def test_private_seam_xla_tracing_is_detected():
    """kgraph.context reads TensorFlow's private control_flow_util to know that
    a trace is for XLA; fail loudly if that stops working."""
    from kgraph.context import tracing_for_xla

    seen = []

    def probe(x):
        seen.append(tracing_for_xla())
        return x + 1

    tf.function(probe, jit_compile=True)(tf.constant(1.0))
    tf.function(probe)(tf.constant(1.0))
    assert seen == [True, False]
    assert not tracing_for_xla()


# --------------------------------------------------------------------------
# (d) evaluate / predict with custom test_step / predict_step
# --------------------------------------------------------------------------

class CappedErrors(kgraph.GraphModel):
    def __init__(self, cap, **kwargs):
        super().__init__(**kwargs)
        self.cap = cap
        self.dense = keras.layers.Dense(1, kernel_initializer="ones")
        self.err_tracker = keras.metrics.Mean(name="err")

    @property
    def metrics(self):
        return [self.err_tracker]

    def call(self, x):
        return self.dense(x)

    def test_step(self, data):
        x, y = data
        err = tf.reduce_mean(tf.abs(self(x, training=False) - y))
        if err > self.cap:
            err = tf.constant(self.cap)
        self.err_tracker.update_state(err)
        return {"err": self.err_tracker.result()}

    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        y = self(x, training=False)
        peak = tf.reduce_max(tf.abs(y))
        while peak > 1.0:             # halve the batch until it fits in [-1, 1]
            y = y / 2.0
            peak = peak / 2.0
        return y


def test_evaluate_with_custom_test_step_control_flow():
    x, y = _data(32, 3)
    batches = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 32, 8)]
    raw = [np.abs(xb.sum(axis=1, keepdims=True) - yb).mean() for xb, yb in batches]
    cap = float(np.median(raw))               # some batches above the cap, some below
    model = CappedErrors(cap=cap)             # kernel ones, bias zeros: y_pred = sum(x)
    model.compile(loss="mse")
    errs = [min(e, cap) for e in raw]
    assert min(raw) < cap < max(raw)
    result = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["err"], np.mean(errs), rtol=1e-5)


def test_predict_with_custom_predict_step_loop():
    x, _ = _data(32, 3)
    x = x * np.linspace(0.01, 3.0, 32, dtype="float32")[:, None]   # batches of different peaks
    model = CappedErrors(cap=1.0)
    model.compile(loss="mse")
    model(x[:1])
    w, b = model.dense.get_weights()
    expected = []
    for i in range(0, 32, 8):
        yb = x[i:i + 8] @ w + b
        while np.abs(yb).max() > 1.0:
            yb = yb / 2.0
        expected.append(yb)
    out = model.predict(x, batch_size=8, verbose=0)
    np.testing.assert_allclose(out, np.concatenate(expected), rtol=1e-5)
    assert np.abs(out).max() <= 1.0


# --------------------------------------------------------------------------
# GraphModel: save/load, steps_per_execution
# --------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="kgraph_tests")
class SavableRNN(LoopRNN):
    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_graph_model_save_load_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    model = SavableRNN(4)
    model.compile(optimizer="adam", loss="mse", steps_per_execution="epoch")
    x, _ = _sequences(8)
    expected = model(x).numpy()
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is SavableRNN
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5)
    assert loaded.in_graph_loop == "epoch"    # compile config kept the mode


def test_steps_per_execution_values():
    model = ConditionalUpdate(0.0)
    for bad in (0, -1, "epochs", True, 1.5, None):
        with pytest.raises(ValueError, match="steps_per_execution"):
            model.compile(optimizer="sgd", loss="mse", steps_per_execution=bad)
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=4)
    assert model.steps_per_execution == 4 and model.in_graph_loop is None
    for mode in ("epoch", "fit"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=mode)
        assert model.steps_per_execution == 1        # what Keras' own loops see
        assert model.in_graph_loop == mode


@pytest.mark.parametrize("mode", ["epoch", "fit"])
def test_in_graph_loop_modes_dispatch_from_fit_and_compile(mode):
    x, y = _data(16, 3)
    model = _conditional(0.0)
    history = model.fit(x, y, epochs=2, verbose=0, steps_per_execution=mode)
    assert len(history.history["loss"]) == 2
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=mode)
    history = model.fit(x, y, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1 and model.step_records


def test_int_steps_per_execution_passes_to_keras():
    x, y = _data(64, 3)
    model = _conditional(0.0)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", steps_per_execution=2)
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb])
    assert seen == [1, 3, 5, 7]          # Keras' multi-step execution: 2 steps per call
    assert int(model.updates.numpy()) == 8
    seen.clear()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[cb], steps_per_execution=4)
    assert seen == [3, 7]
    assert model.steps_per_execution == 2            # the override was for that fit only
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.fit(x, y, verbose=0, steps_per_execution="every")


def test_converted_step_is_not_retraced_across_epochs():
    """Keras traces the converted step (twice at most: tf.function traces
    again after a first trace that created the optimizer's variables); later
    epochs reuse the trace."""
    x, y = _data(64, 3)
    traces = []
    original = ConditionalUpdate.train_step

    class Counting(ConditionalUpdate):
        def train_step(self, data):
            traces.append(tf.executing_eagerly())
            return super().train_step(data)

    model = Counting(0.0)
    model.compile(optimizer="sgd", loss="mse")
    per_epoch = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: per_epoch.append(len(traces)))
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[cb])
    assert 1 <= per_epoch[0] <= 2 and not any(traces)
    assert per_epoch == [per_epoch[0]] * 3
    assert ConditionalUpdate.train_step is original   # the subclass did not rewrap its parent


# --------------------------------------------------------------------------
# GraphModel built functionally: MyModel(inputs, outputs)
# --------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="kgraph_tests")
class FunctionalConditional(kgraph.GraphModel):
    """The Keras pattern "custom train_step, functional construction"."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
        if loss > 0.05:
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        for metric in self.metrics:          # the Keras guide's pattern
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _functional_io():
    inputs = keras.Input((3,))
    h = keras.layers.Dense(8, activation="tanh")(inputs)
    return inputs, keras.layers.Dense(1)(h)


def test_functional_graph_model_subclass_trains_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    model = FunctionalConditional(*_functional_io())
    assert isinstance(model, FunctionalConditional) and isinstance(model, kgraph.GraphModel)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse", metrics=["mae"])
    x, y = _data(64, 3)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, shuffle=False)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["mae"][-1] < history.history["mae"][0]
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    # The user's class, with Functional mixed into the instance's own class
    # (the user's class itself is never rewritten; see graph_model.py).
    assert isinstance(loaded, FunctionalConditional) and isinstance(loaded, Functional)
    assert type(loaded).__name__ == "FunctionalConditional"
    assert FunctionalConditional.__bases__ == (kgraph.GraphModel,)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5)


def test_functional_construction_leaves_graph_model_itself_alone():
    """Keras rewrites the bases of a Model subclass built with inputs/outputs;
    GraphModel must not be rewritten, or every later subclassed GraphModel
    would become Functional."""
    FunctionalConditional(*_functional_io())
    direct = kgraph.GraphModel(*_functional_io())
    assert kgraph.GraphModel.__bases__ == (keras.Model,)
    # the private seam: FunctionalGraphModel's Functional is what Keras builds
    plain = keras.Model(*_functional_io())
    assert type(plain) in type(direct).__mro__
    assert type(direct).__name__ == "FunctionalGraphModel"
    later = ConditionalUpdate(0.1)          # subclassed, no inputs/outputs
    assert type(plain) not in type(later).__mro__
    x, y = _data(16, 3)
    direct.compile(optimizer="sgd", loss="mse")
    direct.fit(x, y, epochs=1, verbose=0)
