"""TensorBoard callbacks for models kgraph converts.

Plain ``keras.callbacks.Callback`` subclasses writing through ``tf.summary``
writers of their own, beside ``keras.callbacks.TensorBoard`` (never instead of
it), into runs under the same ``log_dir``:

* ``ConvertedCode(log_dir, write_graph=False, data=None)`` -> run ``kgraph``:
  Text dashboard, one entry ``code/<qualname>`` per function kgraph converted
  for the model (original source, generated code, explain table); Graphs
  dashboard with ``write_graph=True``.
* ``Speedup(log_dir, data, batches=10)`` -> run ``kgraph``: scalars
  ``speedup/*`` (median ms per training step eagerly, as a graph call, in an
  in-graph loop, and the ratios) and the text ``speedup/table``.
* ``StepScalars(log_dir)`` -> run ``train_steps``: scalars ``step_<metric>``,
  one point per training step, also when an epoch ran in one graph call
  (``steps_per_execution="epoch"``/``"fit"``).

    callbacks = [keras.callbacks.TensorBoard("logs"),
                 kgraph.callbacks.ConvertedCode("logs", write_graph=True, data=(x, y)),
                 kgraph.callbacks.StepScalars("logs"),
                 kgraph.callbacks.Speedup("logs", data=(x, y))]
    model.fit(x, y, callbacks=callbacks)
    # tensorboard --logdir logs
"""

from kgraph.callbacks.converted_code import ConvertedCode
from kgraph.callbacks.speedup import Speedup
from kgraph.callbacks.step_scalars import StepScalars

__all__ = ["ConvertedCode", "Speedup", "StepScalars"]
