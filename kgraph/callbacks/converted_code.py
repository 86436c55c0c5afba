"""``ConvertedCode``: the code kgraph generated for a model, in TensorBoard.

For every function kgraph converted for the model, one entry on the Text
dashboard: the original source and the generated code as Markdown code
blocks, one after the other, then the ``explain()`` table (per statement:
graph or Python, and why) when a trace of the function was seen.

Which functions belong to the model (one rule, three sources):

1. **Reachable code.** The methods of the classes of the model and of every
   layer reachable from it (``model.layers`` and public attributes, through
   lists and dicts), following kgraph's and ``functools.wraps``' wrappers to
   the user's function; then, transitively, the functions, classes and
   ``kgraph.function`` objects those methods name as globals (also
   ``module.name``) or closure variables. Only user code counts, by the
   converter's own rule (``kgraph.convert.policy.is_user_file``). Every
   conversion of one of these functions is shown.
2. **Traced code.** While the fit runs, a recorder is installed with
   ``kgraph.context.tracing``: every function the converter was asked for
   while this model's steps were traced is shown (helpers passed as
   arguments, methods of objects that are not layers...), and the decisions
   recorded fill the ``explain`` tables.
3. **kgraph's own code** (the in-graph training loop of
   ``steps_per_execution="epoch"``/``"fit"``, ``kgraph/layers/in_graph.py``) is
   left out: the user's functions are what the dashboard shows. With
   ``include_internals=True`` it is shown too, under tags
   ``kgraph_internals/<qualname>`` (a group TensorBoard lists after
   ``code/``).

Conversions of other models in the same process are not shown (unless the two
share code). The ``explain`` tables come from the traces the fit itself makes
(and, with ``write_graph=True``, the callback's own trace of the step); a
statement traced several times is listed once, the notes on one line in one
row.

Generated code is shown as a person reads it (``_format``): lines broken at
~100 columns inside brackets, and the user's comments put back beside the
generated lines made from their lines.

Entries are written after the first training call (when the steps have been
traced; with ``steps_per_execution="fit"`` that call is the whole fit), then
for functions first converted later (validation steps) at the end of each
epoch and of training. Tags are ``code/<qualname>``
(``code/<qualname>@<file>:<line>`` when two shown functions share a qualified
name). Each entry is written once per log directory: the event files already
there are read (so a re-run, in this process or another, adds nothing); when a
function's source or generated code changed, the new version is written at
the next step of the same tag.

``write_graph=True`` writes the op graph of the model's training step to the
Graphs dashboard, once per log directory: ``tf.summary.graph`` of
``tf.function(model.train_step).get_concrete_function(spec)``, traced after
the first training call on the spec of the fit's own training data (its
``element_spec``; never iterated) or of ``data=``. Only the user's step is in
it (no summary-writer or data-pipeline functions); the layers appear under
their Keras name scopes and every ``tf.cond`` / ``tf.while_loop`` kgraph built
is named after the user's statement (``while_line12``, ``for_line30``,
``if_line7``), with its branch and body functions named after it.
"""

from __future__ import annotations

import dis
import functools
import os
import re
import types
import warnings

import tensorflow as tf

import keras

from kgraph.api import Function
from kgraph.callbacks import _common, _format
from kgraph.callbacks._state import TrainingState
from kgraph.convert import api_impl, policy

_ORIGINAL = "__kgraph_original__"   # kgraph.layers._convert_methods.ORIGINAL
_MAX_FUNCTIONS = 5000
_MAX_CONTAINER = 10000      # longer lists/dicts on a layer are data, not layers
_GRAPH_KEY = "__graph__"
INTERNAL_PREFIX = "kgraph_internals/"


# ---------------------------------------------------------------------------
# Which conversions belong to the model.

def _realpath(filename):
    return filename if filename.startswith("<") else os.path.realpath(filename)


def _is_user_function(fn):
    return isinstance(fn, types.FunctionType) and policy.is_user_file(fn.__code__.co_filename)


def _functions_behind(obj):
    """The plain functions behind a class attribute or a named object,
    following wrappers (kgraph's, functools.wraps', kgraph.function)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        out = []
        for accessor in (obj.fget, obj.fset, obj.fdel):
            out.extend(_functions_behind(accessor))
        return out
    if isinstance(obj, Function):
        obj = obj.python_function
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, functools.partial):
        obj = obj.func
    out, seen = [], set()
    while obj is not None and id(obj) not in seen and len(seen) < 32:
        seen.add(id(obj))
        if isinstance(obj, types.FunctionType):
            out.append(obj)
        obj = getattr(obj, _ORIGINAL, None) or getattr(obj, "__wrapped__", None)
    return out


def _reachable_layers(model):
    layers, seen = [], set()
    todo = [(model, 0)]
    while todo:
        obj, depth = todo.pop()
        if id(obj) in seen or depth > 50:
            continue
        seen.add(id(obj))
        if isinstance(obj, keras.layers.Layer):
            layers.append(obj)
            children = list(getattr(obj, "layers", None) or ()) if isinstance(
                obj, keras.Model) else []
            children += [v for k, v in vars(obj).items() if not k.startswith("_")]
            todo.extend((c, depth + 1) for c in children)
        elif isinstance(obj, (list, tuple)) and len(obj) <= _MAX_CONTAINER:
            todo.extend((c, depth + 1) for c in obj)
        elif isinstance(obj, dict) and len(obj) <= _MAX_CONTAINER:
            todo.extend((c, depth + 1) for c in obj.values())
    return layers


def _user_classes(klass):
    for k in klass.__mro__:
        module = getattr(k, "__module__", "") or ""
        if module.split(".")[0] in ("builtins", "keras", "tensorflow", "tf_keras", "kgraph"):
            continue
        yield k


def _code_objects(code):
    todo = [code]
    while todo:
        c = todo.pop()
        yield c
        todo.extend(x for x in c.co_consts if isinstance(x, types.CodeType))


def _named_objects(fn):
    """Objects ``fn`` names as globals (and ``module.attr``) or closure variables."""
    found = []
    missing = object()
    for code in _code_objects(fn.__code__):
        module = None
        for ins in dis.get_instructions(code):
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                obj = fn.__globals__.get(ins.argval, missing)
                module = None
                if isinstance(obj, types.ModuleType):
                    if policy.is_user_file(getattr(obj, "__file__", None) or "<builtin>"):
                        module = obj
                elif obj is not missing:
                    found.append(obj)
            elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and module is not None:
                obj = getattr(module, ins.argval, missing)
                if obj is not missing:
                    found.append(obj)
                module = None
            else:
                module = None
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            found.append(cell.cell_contents)
        except ValueError:
            pass
    return found


def reachable_functions(model):
    """User functions reachable from ``model`` (rule 1 of the module doc),
    and the ``kgraph.function`` objects met on the way."""
    functions, seen, kgraph_functions = [], set(), []
    todo = []
    for layer in _reachable_layers(model):
        for klass in _user_classes(type(layer)):
            for attr in vars(klass).values():
                todo.extend(_functions_behind(attr))
    seen_classes = set()
    while todo and len(functions) < _MAX_FUNCTIONS:
        fn = todo.pop(0)
        if id(fn) in seen or not _is_user_function(fn):
            continue
        seen.add(id(fn))
        functions.append(fn)
        for obj in _named_objects(fn):
            if isinstance(obj, Function):
                kgraph_functions.append(obj)
            if isinstance(obj, type):
                if id(obj) in seen_classes:
                    continue
                seen_classes.add(id(obj))
                for klass in _user_classes(obj):
                    for attr in vars(klass).values():
                        todo.extend(_functions_behind(attr))
            else:
                todo.extend(_functions_behind(obj))
    return functions, kgraph_functions


def model_conversions(model, traced_qualnames=(), in_graph=False):
    """The kgraph conversions that belong to ``model`` (see the module doc),
    sorted by file and line; plus the ``kgraph.function`` objects reachable
    from it (whose ``reports`` hold recorded decisions)."""
    conversions = api_impl.conversions()
    by_key = {}
    for conv in conversions:
        by_key.setdefault((_realpath(conv.filename), conv.qualname), []).append(conv)
    functions, kgraph_functions = reachable_functions(model)
    chosen = {}
    for fn in functions:
        key = (_realpath(fn.__code__.co_filename), fn.__qualname__)
        for conv in by_key.get(key, ()):
            chosen[id(conv)] = conv
    traced = set(traced_qualnames)
    for conv in conversions:
        if (conv.qualname in traced and policy.is_user_file(conv.filename)) or (
                in_graph and _is_loop_code(conv)):
            chosen[id(conv)] = conv
    ordered = sorted(chosen.values(), key=lambda c: (c.filename, c.code.co_firstlineno))
    return ordered, kgraph_functions


def _line_range(conv):
    lines = conv.original_source.splitlines() or [""]
    def_index = next((i for i, line in enumerate(lines)
                      if line.lstrip().startswith(("def ", "async def "))), 0)
    start = conv.code.co_firstlineno - def_index
    return start, start + len(lines)


def _is_loop_code(conv):
    from kgraph.layers import in_graph as _loop_module
    return _realpath(conv.filename) == _realpath(_loop_module.__file__)


def decisions_for(conv, decisions):
    start, stop = _line_range(conv)
    path = _realpath(conv.filename)
    return [d for d in decisions
            if start <= d.lineno < stop and _realpath(d.filename) == path]


def source_key(conv):
    return _common.text_key(conv.original_source + "\n\x00\n" + conv.generated_source)


def _fence(text):
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def readable_generated(conv, width=_format.WIDTH):
    """The generated code of ``conv``, lines broken at ``width`` columns, with
    the user's comments put back (see ``_format``)."""
    return _format.readable(conv.generated_source, conv.tree, conv.original_source,
                            _line_range(conv)[0], width)


def grouped_decisions(decisions):
    """One row per statement and outcome: a statement traced several times
    (or retried while its loop's types were learned) is listed once, and the
    notes on one line are joined into one row."""
    rows, order = {}, []
    for d in sorted(decisions, key=lambda d: (d.filename, d.lineno)):
        key = (d.filename, d.lineno, d.construct if d.path != "note" else "note", d.path)
        if key not in rows:
            rows[key] = [d, [d.reason]]
            order.append(key)
        elif d.reason not in rows[key][1]:
            rows[key][1].append(d.reason)
    return [(rows[k][0], rows[k][1]) for k in order]


def explain_markdown(decisions):
    lines = ["| line | statement | construct | became | why |", "|---|---|---|---|---|"]
    for d, reasons in grouped_decisions(decisions):
        src = d.source_line().replace("|", "\\|")
        why = "; ".join(r.replace("|", "\\|") for r in reasons)
        lines.append(f"| {d.lineno} | `{src}` | {d.construct} | {d.path} | {why} |")
    return "\n".join(lines)


def entry_markdown(conv, decisions, traced, in_graph_loop=False):
    """The Text dashboard entry of one conversion."""
    start, _ = _line_range(conv)
    parts = [f"**`{conv.qualname}`** · `{conv.filename}:{start}` · "
             f"converted in {conv.seconds * 1e3:.1f} ms", ""]
    for title, text in (("Original source", conv.original_source.rstrip("\n")),
                        ("Generated by kgraph", readable_generated(conv).rstrip("\n"))):
        fence = _fence(text)
        parts += [f"**{title}**", "", f"{fence}python", text, fence, ""]
    parts.append("**explain**: which statements became graph control flow, which stayed "
                 "Python, and why")
    parts.append("")
    if decisions:
        parts.append(explain_markdown(decisions))
    elif traced:
        parts.append("_Traced: no control-flow statement of this function ran._")
    elif in_graph_loop:
        parts.append("_kgraph's in-graph loop is traced by its own `kgraph.function`, whose "
                     "decisions callbacks cannot see yet._")
    else:
        parts.append("_No trace of this function was seen during training (its graph was "
                     "traced earlier in this process): run `kgraph.explain(fn, *args)`._")
    parts += ["", f"<!-- {_common.SHA_MARK} {source_key(conv)} -->"]
    return "\n".join(parts)


def is_internal(conv):
    """kgraph's own code (the in-graph training loop), not the user's."""
    return _is_loop_code(conv) or not policy.is_user_file(conv.filename)


def assign_tags(convs):
    """``code/<qualname>`` (kgraph's own code: ``kgraph_internals/<qualname>``,
    a group TensorBoard lists after ``code/``), made unique with
    ``@<file>:<line>`` where needed."""
    counts = {}
    for conv in convs:
        counts[conv.qualname] = counts.get(conv.qualname, 0) + 1
    tags = {}
    for conv in convs:
        tag = (INTERNAL_PREFIX if is_internal(conv) else "code/") + conv.qualname
        if counts[conv.qualname] > 1:
            tag += f"@{os.path.basename(conv.filename)}:{_line_range(conv)[0]}"
        tags[id(conv)] = tag
    return tags


# ---------------------------------------------------------------------------

class ConvertedCode(keras.callbacks.Callback):
    """Writes the code kgraph converted for the model to TensorBoard's Text
    dashboard (and, with ``write_graph=True``, the training step's op graph to
    the Graphs dashboard).

    Args:
        log_dir: the TensorBoard log directory.
        write_graph: also write the op graph of the model's training step
            (``model.train_step`` traced on one batch's spec), once per log
            directory.
        data: optional batch source (a ``tf.data.Dataset`` of batches, or
            ``(x, y)`` arrays) whose first batch gives the spec the step is
            traced on. By default the fit's own training data (its
            ``element_spec``; arrays: their first batch); the data is never
            iterated.
        batch_size: batch size for array ``data`` (default: the fit's, or 32).
        run: the run (subdirectory of ``log_dir``) written to.
        include_internals: also show kgraph's own converted code (its in-graph
            training loop), under ``kgraph_internals/``.
    """

    def __init__(self, log_dir, write_graph=False, data=None, batch_size=None, run="kgraph",
                 include_internals=False):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.write_graph = write_graph
        self.data = data
        self.batch_size = batch_size
        self.include_internals = include_internals
        self.run_dir = os.path.join(self.log_dir, run) if run else self.log_dir
        self.written = {}         # tag -> step, what this callback wrote
        self._decisions = []
        self._decision_set = set()
        self._traced = set()
        self._watcher = _common.InGraphWatcher()
        self._writer = None
        self._recorder = None
        self._first_call_done = False
        self._fit_data = None

    # -- Keras hooks -------------------------------------------------------

    def on_train_begin(self, logs=None):
        if self._writer is not None:   # the previous fit raised before on_train_end
            self._finish()
        self._writer = _common.acquire_writer(self.run_dir)
        self._index = _common.log_index(self.run_dir)
        self._recorder = _common.start_recording()
        self._watcher.begin(self.model)
        self._first_call_done = False
        self._fit_data = None if self.data is not None else _common.fit_data(self.model)

    def on_train_batch_end(self, batch, logs=None):
        if self._first_call_done:
            return
        self._first_call_done = True
        self._after_first_call()

    def on_epoch_end(self, epoch, logs=None):
        self.write_new()

    def on_train_end(self, logs=None):
        if not self._first_call_done:   # no batch ended (empty data)
            self._first_call_done = True
            self._after_first_call()
        self.write_new()
        self._finish()

    def _after_first_call(self):
        # Everything is built and the fit traced its steps: trace the step for
        # the graph (and any decisions not yet seen), then show the code.
        if self.write_graph and not self._index.has(_GRAPH_KEY):
            self._trace_step()
        self.write_new()

    def _finish(self):
        _common.stop_recording()
        self._recorder = None
        _common.release_writer(self.run_dir)
        self._writer = None

    # -- work --------------------------------------------------------------

    def _spec(self):
        if self.data is not None:
            return _common.spec_of(_common.take_batches(self.data, self.batch_size, 1)[0])
        if self._fit_data is None or not self._fit_data.usable:
            raise ValueError("the fit's training data is not a tf.data.Dataset or arrays; "
                             "pass data= to ConvertedCode")
        if self.batch_size is not None:
            self._fit_data.batch_size = self.batch_size
        return self._fit_data.spec()

    def _trace_step(self):
        """Trace ``model.train_step`` on one batch's spec and write its op graph
        (the user's step alone: no summary or data-pipeline functions)."""
        state = TrainingState.capture(self.model)   # tracing runs nothing, draws no seeds
        try:
            spec = self._spec()
            step = tf.function(self.model.train_step, autograph=False)
            with self.model.distribute_strategy.scope():
                concrete = step.get_concrete_function(spec)
        except Exception as e:  # noqa: BLE001 - the text entries do not depend on it
            warnings.warn(f"kgraph.callbacks.ConvertedCode: could not trace "
                          f"model.train_step for the graph: {type(e).__name__}: {e}",
                          stacklevel=2)
            return
        finally:
            state.restore()
        with self._writer.as_default():
            tf.summary.graph(concrete.graph)
        self._index.add(_GRAPH_KEY, "graph_def", 0)

    def _collect_decisions(self, kgraph_functions=()):
        sources = [self._recorder] if self._recorder is not None else []
        for f in kgraph_functions:
            sources.extend(f.reports)
        for source in sources:
            self._traced.update(source.converted)
            for d in source.decisions:
                if d not in self._decision_set:
                    self._decision_set.add(d)
                    self._decisions.append(d)

    def write_new(self):
        """Write the entries not yet in the log directory; returns their tags."""
        if self._writer is None:
            return []
        self._watcher.poll()
        self._collect_decisions()
        convs, kgraph_functions = model_conversions(
            self.model, self._traced, self._watcher.in_graph and self.include_internals)
        if not self.include_internals:
            convs = [c for c in convs if not is_internal(c)]
        self._collect_decisions(kgraph_functions)
        tags = assign_tags(convs)
        new = []
        with self._writer.as_default():
            for conv in convs:
                tag, key = tags[id(conv)], source_key(conv)
                if self._index.has(tag, key):
                    continue
                step = self._index.next_step(tag)
                text = entry_markdown(conv, decisions_for(conv, self._decisions),
                                      conv.qualname in self._traced, _is_loop_code(conv))
                tf.summary.text(tag, text, step=step)
                self._index.add(tag, key, step)
                self.written[tag] = step
                new.append(tag)
        if new:
            self._writer.flush()
        return new
