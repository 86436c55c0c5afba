"""TensorBoard callbacks for models kgraph converts.

Plain ``keras.callbacks.Callback`` subclasses writing through ``tf.summary``
writers of their own, beside ``keras.callbacks.TensorBoard`` (never instead of
it), into runs under the same ``log_dir``:

* ``ConvertedCode(log_dir, write_graph=False)`` -> run ``kgraph``: Text
  dashboard, one entry ``code/<qualname>`` per user function kgraph converted
  for the model (original source, generated code, explain table); with
  ``write_graph=True`` the op graph of ``model.train_step`` in the Graphs
  dashboard, its loops named after the user's lines (``for_line30``).
* ``Speedup(log_dir, batches=10)`` -> run ``kgraph``: scalars ``speedup/*``
  (median ms per training step eagerly, as a graph call, in an in-graph loop,
  and the ratios), the text ``speedup/table`` and the image
  ``speedup/chart``.
* ``StepScalars(log_dir)`` -> run ``train_steps``: scalars ``step_<metric>``,
  one point per training step, also when an epoch ran in one graph call
  (``steps_per_execution="epoch"``/``"fit"``).

    callbacks = [keras.callbacks.TensorBoard("logs"),
                 kgraph.callbacks.ConvertedCode("logs", write_graph=True),
                 kgraph.callbacks.StepScalars("logs"),
                 kgraph.callbacks.Speedup("logs")]
    model.fit(x, y, callbacks=callbacks)
    # tensorboard --logdir logs

None needs the data again: they read the running fit's own (see
``_common.fit_data``). docs/tensorboard.md shows the dashboards.
"""

from kgraph.callbacks.converted_code import ConvertedCode
from kgraph.callbacks.speedup import Speedup
from kgraph.callbacks.step_scalars import StepScalars

__all__ = ["ConvertedCode", "Speedup", "StepScalars"]
