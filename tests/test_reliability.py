"""Never silently wrong (issue 10): decorated functions, source that is not
the running code, asserts (ordering, nested blocks, XLA), failing Keras steps,
any callable, concurrent first calls."""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import sys
import textwrap
import threading

import numpy as np
import pytest
import tensorflow as tf

import kgraph
from kgraph.errors import ConversionError

HERE = os.path.abspath(__file__)


def _line_of(fn, text):
    """The absolute line of the first line of ``fn``'s source containing ``text``."""
    lines, start = inspect.getsourcelines(fn)
    for i, line in enumerate(lines):
        if text in line:
            return start + i
    raise AssertionError(f"{text!r} not in {fn.__name__}")


def _module_from(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module, str(path)


# ---------------------------------------------------------------------------
# 1. Decorated functions: the conversion is the function's own code.

def _passthrough(f):
    @functools.wraps(f)
    def wrapper(*args):
        return f(*args)
    return wrapper


@_passthrough
def _plus(x):
    return x + 1


@_passthrough
def _minus(x):
    return x - 1


def _uses_both(x):
    return _plus(x) * 10 + _minus(x)


def test_decorated_functions_each_run_their_own_code():
    assert int(kgraph.function(_minus)(tf.constant(5))) == 4
    assert int(kgraph.function(_plus)(tf.constant(5))) == 6
    assert kgraph.to_graph(_plus)(5) == 6
    assert kgraph.to_graph(_minus)(5) == 4
    # The wrapper's code is converted (what runs), named after itself.
    code = kgraph.to_code(_plus)
    assert "def wrapper" in code and "minus" not in code
    # Through nested calls too.
    assert int(kgraph.function(_uses_both)(tf.constant(5))) == 64
    assert kgraph.to_graph(_uses_both)(5) == 64


def _tf_abs_wrapped():
    return _passthrough(tf.abs)


def _user_abs(x):
    if x < 0:
        return -x * 100
    return x * 100


def test_one_wrapper_code_around_a_library_function_and_a_user_function():
    # The same wrapper code closes over tf.abs once and over the user's own
    # function once: the second must still be converted (its `if` on a tensor).
    lib = _tf_abs_wrapped()
    user = _passthrough(_user_abs)
    assert int(kgraph.function(lib)(tf.constant(-3))) == 3
    assert int(kgraph.function(user)(tf.constant(-3))) == 300
    assert int(kgraph.function(user)(tf.constant(2))) == 200


# ---------------------------------------------------------------------------
# 2. Source that is not the running code is refused.

_EDITABLE = """\
    def step(x):
        if x > 0:
            x = x + 1
        return x
"""


def test_source_edited_on_disk_after_import_is_refused(tmp_path):
    module, path = _module_from(tmp_path, "kg_rel_edited", _EDITABLE)
    with open(path, "w") as f:
        f.write(textwrap.dedent(_EDITABLE).replace("x + 1", "x + 1000"))
    os.utime(path, (1, 1))   # a different mtime than at import, whatever the clock
    with pytest.raises(ConversionError) as info:
        kgraph.function(module.step)(tf.constant(1))
    text = str(info.value)
    assert f"{path}:1" in text
    assert "reload" in text and "step" in text


def test_source_edited_on_disk_runs_after_reload(tmp_path):
    module, path = _module_from(tmp_path, "kg_rel_reloaded", _EDITABLE)
    with open(path, "w") as f:
        f.write(textwrap.dedent(_EDITABLE).replace("x + 1", "x + 1000"))
    os.utime(path, (2, 2))
    module.__spec__.loader.exec_module(module)   # what importlib.reload does
    assert int(kgraph.function(module.step)(tf.constant(1))) == 1001


def _real(x):
    if x > 0:
        return x + 1
    return x


def _impostor(x):
    if x > 0:
        return x * 1000
    return x


def test_crafted_wrapped_attribute_is_not_what_runs():
    def fn(x):
        return _real(x)
    fn.__wrapped__ = _impostor     # inspect would follow it; the code is fn's own
    assert int(kgraph.function(fn)(tf.constant(2))) == 3
    assert "1000" not in kgraph.to_code(fn)


def test_code_naming_another_file_is_refused(tmp_path):
    other, other_path = _module_from(tmp_path, "kg_rel_other", """\
        def step(x):
            if x > 0:
                x = x * 1000
            return x
    """)
    module, _ = _module_from(tmp_path, "kg_rel_own", _EDITABLE)
    fn = module.step
    fn.__code__ = fn.__code__.replace(co_filename=other_path)
    with pytest.raises(ConversionError, match="reload") as info:
        kgraph.to_graph(fn)
    assert f"{other_path}:1" in str(info.value)


def test_methods_with_multiline_strings_and_private_names_still_convert():
    class Holder:
        def __init__(self):
            self.__scale = 3

        def run(self, x):
            text = """a
            b"""
            if x > 0:
                x = x * self.__scale + len(text)
            return x

    h = Holder()
    assert int(kgraph.function(h.run)(tf.constant(2))) == 2 * 3 + len("a\n            b")
