"""Real Keras programs, shaped like the Keras guides and keras.io examples,
run verbatim in every mode.

Each program is written as a Keras user writes it, with only the base class
swapped to ``kgraph.GraphModel`` / ``kgraph.GraphLayer``. It is trained with
Keras' own loop (``steps_per_execution=1``: Keras' ``fit``, kgraph only
converts the methods) and with the in-graph loops (``"epoch"``, ``"fit"``),
from the same seeds; History and weights must agree within float tolerance.
"""

import numpy as np
import pytest
import tensorflow as tf

import keras

import kgraph

MODES = ["epoch", "fit"]
RTOL, ATOL = 1e-4, 1e-5


def _weights(model):
    return [v.numpy() for v in model.weights]


def _assert_same(history, weights, ref_history, ref_weights):
    assert set(history.history) == set(ref_history), (sorted(history.history),
                                                      sorted(ref_history))
    for key, values in ref_history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=RTOL, atol=ATOL,
                                   err_msg=key)
    assert len(weights) == len(ref_weights)
    for got, want in zip(weights, ref_weights):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def _run_all_modes(build, fit):
    """Train ``build()`` with Keras' loop and each in-graph mode; compare."""
    results = {}
    for mode in [1] + MODES:
        keras.utils.set_random_seed(0)
        model = build()
        history = fit(model, mode)
        results[mode] = (history, _weights(model), model)
    ref_history, ref_weights, _ = results[1]
    assert ref_history.history, "Keras' own loop logged nothing"
    for mode in MODES:
        history, weights, _ = results[mode]
        _assert_same(history, weights, ref_history.history, ref_weights)
    return results


# ---------------------------------------------------------------------------
# 1. GAN with only train_step (DCGAN / WGAN-GP shape): no call, two optimizers,
#    a seed generator, custom compile, Python control flow on tensors.

LATENT = 4


def _generator():
    return keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(6)], name="generator")


def _discriminator():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(1)], name="discriminator")


class GAN(kgraph.GraphModel):
    def __init__(self, discriminator, generator, latent_dim, n_critic=2):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.n_critic = n_critic
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real):
        batch = tf.shape(real)[0]
        d_loss = 0.0
        for _ in range(self.n_critic):                # WGAN-GP's critic loop
            z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
            fake = self.generator(z)
            both = tf.concat([fake, real], axis=0)
            labels = tf.concat([tf.ones((batch, 1)), tf.zeros((batch, 1))], axis=0)
            with tf.GradientTape() as tape:
                d_loss = self.loss_fn(labels, self.discriminator(both))
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(tf.zeros((batch, 1)), self.discriminator(self.generator(z)))
        if self.d_optimizer.iterations % 4 != 0:      # alternating updates on a tensor
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def _real_samples(n=48):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype("float32") + 1.0


def _build_gan():
    gan = GAN(_discriminator(), _generator(), LATENT)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    return gan


def test_gan_with_only_train_step_matches_keras():
    results = _run_all_modes(
        _build_gan,
        lambda m, mode: m.fit(_real_samples(), batch_size=16, epochs=2, verbose=0,
                              steps_per_execution=mode))
    assert set(results[1][0].history) == {"d_loss", "g_loss"}


def test_gan_from_a_dataset_of_images_only():
    ds = tf.data.Dataset.from_tensor_slices(_real_samples()).batch(16)
    _run_all_modes(_build_gan, lambda m, mode: m.fit(ds, epochs=2, verbose=0,
                                                     steps_per_execution=mode))


# ---------------------------------------------------------------------------
# 2. VAE with two positional sub-models, a sampling layer with a seed
#    generator, optimizer-only compile, fit(x) without y.

class Sampling(kgraph.GraphLayer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(tf.shape(z_mean), seed=self.seed_generator)
        return z_mean + tf.exp(0.5 * z_log_var) * eps


def _encoder():
    inputs = keras.Input((6,))
    h = keras.layers.Dense(8, activation="relu")(inputs)
    z_mean = keras.layers.Dense(2, name="z_mean")(h)
    z_log_var = keras.layers.Dense(2, name="z_log_var")(h)
    return keras.Model(inputs, [z_mean, z_log_var, Sampling()([z_mean, z_log_var])],
                       name="encoder")


def _decoder():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(6)], name="decoder")


class VAE(kgraph.GraphModel):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = tf.reduce_mean(tf.reduce_sum((data - reconstruction) ** 2,
                                                               axis=1))
            kl_loss = -0.5 * (1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))
            kl_loss = tf.reduce_mean(tf.reduce_sum(kl_loss, axis=1))
            if self.optimizer.iterations < 3:          # KL warm-up
                total_loss = reconstruction_loss + 0.1 * kl_loss
            else:
                total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}


def _build_vae():
    vae = VAE(_encoder(), _decoder())
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    return vae


def test_vae_two_positional_submodels_seed_generator_fit_x_only():
    results = _run_all_modes(
        _build_vae,
        lambda m, mode: m.fit(_real_samples(), epochs=2, batch_size=16, verbose=0,
                              steps_per_execution=mode))
    assert set(results[1][0].history) == {"total_loss", "reconstruction_loss", "kl_loss"}


def test_two_positional_arguments_do_not_rewrite_the_users_class():
    bases = VAE.__bases__
    vae = VAE(_encoder(), _decoder())
    assert VAE.__bases__ == bases and type(vae) is VAE
    assert not isinstance(vae, keras.src.models.functional.Functional)
    vae = VAE(encoder=_encoder(), decoder=_decoder())
    assert VAE.__bases__ == bases


# ---------------------------------------------------------------------------
# 3. Optimizer-only compile with a call and a train_step computing its own
#    loss (the subclassing guide); fit(x) without y hands train_step x.

class AutoEncoder(kgraph.GraphModel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.enc = keras.layers.Dense(3, activation="tanh")
        self.dec = keras.layers.Dense(6)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def call(self, x):
        return self.dec(self.enc(x))

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, x):
        assert not isinstance(x, tuple), "fit(x) must hand train_step x, not (x,)"
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((self(x, training=True) - x) ** 2)
        grads = tape.gradient(loss, self.trainable_variables)
        if tf.linalg.global_norm(grads) < 100.0:
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def _build_autoencoder():
    model = AutoEncoder()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    return model


def test_optimizer_only_compile_and_fit_x_without_y():
    _run_all_modes(_build_autoencoder,
                   lambda m, mode: m.fit(_real_samples(), epochs=3, batch_size=16, verbose=0,
                                         shuffle=True, steps_per_execution=mode))


# ---------------------------------------------------------------------------
# 4. Compiled metrics with the custom train_step guide's own step (returns
#    a compile_metrics dict), sample weights, class weights, validation.

class CustomFit(kgraph.GraphModel):
    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _build_custom_fit():
    inputs = keras.Input((6,))
    outputs = keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(inputs))
    model = CustomFit(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _regression(n=64):
    x = _real_samples(n)
    return x, x.sum(axis=1, keepdims=True).astype("float32")


def test_compiled_metrics_in_the_guides_train_step():
    x, y = _regression()
    results = _run_all_modes(
        _build_custom_fit,
        lambda m, mode: m.fit(x, y, epochs=2, batch_size=16, verbose=0,
                              validation_split=0.25, steps_per_execution=mode))
    assert set(results[1][0].history) == {"loss", "mae", "val_loss", "val_mae"}


def test_sample_weight_and_partial_batches():
    x, y = _regression(60)
    w = np.linspace(0.1, 1.0, 60).astype("float32")
    _run_all_modes(_build_custom_fit,
                   lambda m, mode: m.fit(x, y, sample_weight=w, epochs=2, batch_size=16,
                                         verbose=0, steps_per_execution=mode))


def _classifier():
    inputs = keras.Input((6,))
    outputs = keras.layers.Dense(2)(inputs)
    model = CustomFit(inputs, outputs)
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_class_weight():
    x = _real_samples(48)
    y = (x[:, 0] > 1.0).astype("int32")
    _run_all_modes(_classifier,
                   lambda m, mode: m.fit(x, y, class_weight={0: 1.0, 1: 3.0}, epochs=2,
                                         batch_size=16, verbose=0, steps_per_execution=mode))


# ---------------------------------------------------------------------------
# 5. add_loss inside a tensor `if` in call (activity regularisation).

class GatedPenalty(kgraph.GraphLayer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(4)

    def call(self, x):
        h = self.dense(x)
        if tf.reduce_mean(h) > 0.0:
            self.add_loss(0.1 * tf.reduce_mean(h ** 2))   # ADD_LOSS_IN_BRANCH
        return h


class GatedPenaltyWhere(GatedPenalty):
    """The rewrite the error suggests: the same loss, gated by value."""

    def call(self, x):
        h = self.dense(x)
        self.add_loss(tf.where(tf.reduce_mean(h) > 0.0, 0.1 * tf.reduce_mean(h ** 2), 0.0))
        return h


def _build_add_loss(layer=GatedPenaltyWhere):
    inputs = keras.Input((6,))
    outputs = keras.layers.Dense(1)(layer()(inputs))
    model = kgraph.GraphModel(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


@pytest.mark.parametrize("mode", [1] + MODES)
def test_add_loss_in_a_tensor_branch_is_refused_at_the_users_line(mode):
    x, y = _regression()
    model = _build_add_loss(GatedPenalty)
    with pytest.raises(kgraph.StagingError) as info:
        model.fit(x, y, epochs=1, batch_size=16, verbose=0, steps_per_execution=mode)
    line = next(i for i, text in enumerate(open(__file__).read().splitlines(), 1)
                if text.endswith("# ADD_LOSS_IN_BRANCH"))
    assert f"{__file__}:{line}" in str(info.value)
    assert "tf.where" in str(info.value)


def test_add_loss_gated_by_value_matches_keras():
    x, y = _regression()
    _run_all_modes(_build_add_loss,
                   lambda m, mode: m.fit(x, y, epochs=2, batch_size=16, verbose=0,
                                         steps_per_execution=mode))


# ---------------------------------------------------------------------------
# 6. Knowledge distillation: Distiller(student, teacher), custom compile,
#    compute_loss override, compiled metrics, a test_step via evaluate.

class Distiller(kgraph.GraphModel):
    def __init__(self, student, teacher):
        super().__init__()
        self.teacher = teacher
        self.student = student

    def compile(self, optimizer, metrics, student_loss_fn, distillation_loss_fn, alpha=0.1,
                temperature=3):
        super().compile(optimizer=optimizer, metrics=metrics)
        self.student_loss_fn = student_loss_fn
        self.distillation_loss_fn = distillation_loss_fn
        self.alpha = alpha
        self.temperature = temperature

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False):
        teacher_pred = self.teacher(x, training=False)
        student_loss = self.student_loss_fn(y, y_pred)
        distillation_loss = self.distillation_loss_fn(
            tf.nn.softmax(teacher_pred / self.temperature, axis=1),
            tf.nn.softmax(y_pred / self.temperature, axis=1),
        ) * (self.temperature ** 2)
        return self.alpha * student_loss + (1 - self.alpha) * distillation_loss

    def call(self, x):
        return self.student(x)


def _build_distiller():
    teacher = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)], name="teacher")
    student = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)], name="student")
    distiller = Distiller(student, teacher)
    distiller.compile(optimizer=keras.optimizers.Adam(1e-2),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()],
                      student_loss_fn=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=True),
                      distillation_loss_fn=keras.losses.KLDivergence(), alpha=0.1,
                      temperature=10)
    return distiller


def test_knowledge_distillation():
    x = _real_samples(48)
    y = (x[:, 0] > 1.0).astype("int32") + (x[:, 1] > 1.5).astype("int32")
    results = _run_all_modes(
        _build_distiller,
        lambda m, mode: m.fit(x, y, epochs=2, batch_size=16, verbose=0,
                              validation_data=(x[:16], y[:16]), steps_per_execution=mode))
    assert "val_sparse_categorical_accuracy" in results[1][0].history


# ---------------------------------------------------------------------------
# 7. Transformer-with-masking-like layer: mask from Embedding(mask_zero=True),
#    Python control flow on the mask in call.

class MaskedMeanPool(kgraph.GraphLayer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        if mask is None:
            return tf.reduce_mean(x, axis=1)
        m = tf.cast(mask, x.dtype)[:, :, None]
        total = tf.reduce_sum(m)
        if total > 0:
            return tf.reduce_sum(x * m, axis=1) / tf.maximum(tf.reduce_sum(m, axis=1), 1.0)
        return tf.reduce_mean(x, axis=1)

    def compute_mask(self, x, mask=None):
        return None


def _build_masked():
    inputs = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    h = keras.layers.MultiHeadAttention(num_heads=1, key_dim=4)(h, h)
    outputs = keras.layers.Dense(1)(MaskedMeanPool()(h))
    model = kgraph.GraphModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def test_transformer_like_masking():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 10, size=(48, 5)).astype("int32")
    x[:, 3:] *= rng.integers(0, 2, size=(48, 2))
    y = (x > 0).sum(axis=1, keepdims=True).astype("float32")
    _run_all_modes(_build_masked, lambda m, mode: m.fit(x, y, epochs=2, batch_size=16,
                                                        verbose=0, steps_per_execution=mode))


# ---------------------------------------------------------------------------
# 8. The custom training loop guide's model: compiled loss and metrics used
#    by hand (self.compiled_loss-free Keras 3 idiom), a generator and a
#    PyDataset as data.

class GuideModel(kgraph.GraphModel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d1 = keras.layers.Dense(8, activation="relu")
        self.d2 = keras.layers.Dense(2)

    def call(self, x):
        return self.d2(self.d1(x))


def _build_guide():
    model = GuideModel()
    model.compile(optimizer=keras.optimizers.SGD(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return len(self.x) // self.batch_size

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]


def test_custom_training_loop_guide_model_with_pydataset():
    x = _real_samples(48)
    y = (x[:, 0] > 1.0).astype("int32")
    _run_all_modes(_build_guide,
                   lambda m, mode: m.fit(Batches(x, y, 16), epochs=2, verbose=0,
                                         validation_data=Batches(x[:32], y[:32], 16),
                                         steps_per_execution=mode))


def test_generator_with_steps_per_epoch():
    x = _real_samples(48)
    y = (x[:, 0] > 1.0).astype("int32")

    def batches():
        while True:
            for i in range(3):
                yield x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]

    _run_all_modes(_build_guide,
                   lambda m, mode: m.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0,
                                         steps_per_execution=mode))


# ---------------------------------------------------------------------------
# The private Keras seams the in-graph loops rely on: fail loudly if one moves.

def test_private_keras_seams():
    import inspect as _inspect

    from keras.src.backend import in_stateless_scope
    from keras.src.saving import object_registration
    from keras.src.trainers.data_adapters import array_slicing
    from keras.src.trainers.epoch_iterator import EpochIterator
    from keras.src.utils.python_utils import pythonify_logs

    from kgraph.layers.in_graph import flatten_logs

    params = _inspect.signature(EpochIterator).parameters
    assert {"x", "y", "sample_weight", "batch_size", "steps_per_epoch", "shuffle",
            "class_weight"} <= set(params)
    iterator = EpochIterator(x=np.zeros((10, 2), "float32"), batch_size=4)
    assert iterator.num_batches == 3
    assert isinstance(iterator.data_adapter.get_tf_dataset(), tf.data.Dataset)
    (train, val) = array_slicing.train_validation_split(
        (np.arange(8), np.arange(8), None), validation_split=0.25)
    assert len(train[0]) == 6 and len(val[0]) == 2
    # Keras' fit symbolic build and the trainer's compile state.
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model._symbolic_build(data_batch=(tf.TensorSpec([None, 2]), tf.TensorSpec([None, 1])))
    assert model.optimizer.built and model._compile_metrics.built
    assert callable(model._maybe_symbolic_build)
    assert not in_stateless_scope()
    assert isinstance(object_registration.GLOBAL_CUSTOM_NAMES, dict)
    # kgraph flattens logs exactly as Keras does.
    logs = {"loss": 1.0, "compile_metrics": {"mae": 2.0, "acc": 3.0}, "b": 4.0}
    assert list(flatten_logs(logs)) == list(pythonify_logs(logs))
    assert flatten_logs(logs) == pythonify_logs(logs)
