"""Control-flow state: how Python values cross tf.cond / tf.while_loop.

Each state variable gets a *slot spec* that says how its value is encoded
into TensorFlow-compatible structures and decoded back:

* ``tensor``: a tensor (Python numbers are converted, with a chosen dtype and
  possibly a relaxed shape);
* ``nest``: a tuple/list/dict of tensors, passed as is;
* ``list``: a Python list that grows in a graph loop, carried as a
  ``GraphList`` (a TensorArray plus its length);
* ``same``: a Python object that must come out exactly as it went in
  (``None``, a layer, a string...): it does not enter the graph at all;
* ``undefined``: no value on entry; filled with zeros of the spec learned
  from the body (only used for return values).
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import tensorflow as tf

from kgraph.errors import (StagingTypeError, StagingValueError,
                           UndefinedVariableError)
from kgraph.operators.lists import GraphList, TypedList
from kgraph.operators.undefined import Undefined, _NoReturn


@dataclasses.dataclass
class Slot:
    kind: str                     # tensor | nest | list | same | undefined
    dtype: object = None
    shape: object = None          # tf.TensorShape for 'tensor'
    value: object = None          # the object for 'same'
    element: object = None        # tf.TensorSpec of list elements for 'list'
    template: object = None       # nest structure template (TypeSpecs) for 'undefined'
    from_python: bool = False     # a Python number converted by us


class OneBranchError(UndefinedVariableError):
    """A variable defined in only one branch of a graph ``if`` and used after it."""

    def __init__(self, shown_names, where, location):
        self.shown_names = list(shown_names)
        listed = ", ".join(self.shown_names)
        plural = len(self.shown_names) > 1
        super().__init__(
            f"{listed} {'are' if plural else 'is'} defined in only one branch of {where} "
            f"and {'are' if plural else 'is'} used after it",
            location=location,
            hints=(f"assign {listed} in both branches, or before {where}",))


class Respec(Exception):
    """Internal: the trial trace learned better slot specs; build again."""

    def __init__(self, index, slot, note=None):
        super().__init__(f"respec slot {index}")
        self.index = index
        self.slot = slot
        self.note = note


def is_python_number(v):
    return isinstance(v, (bool, numbers.Number, np.generic)) and not isinstance(v, np.ndarray)


def _convertible_nest(v):
    """True for a (possibly nested) structure of tensors / TensorArrays."""
    leaves = tf.nest.flatten(v, expand_composites=False)
    return bool(leaves) and all(
        tf.is_tensor(x) or isinstance(x, (tf.TensorArray, np.ndarray)) or is_python_number(x)
        or isinstance(x, tf.experimental.Optional)
        for x in leaves)


def slot_for(value):
    """The initial slot spec for a value entering graph control flow."""
    if isinstance(value, GraphList):
        return Slot("list", element=value.element)
    if isinstance(value, Undefined):
        return Slot("undefined", value=value)
    if tf.is_tensor(value) and not isinstance(value, (tf.SparseTensor, tf.RaggedTensor)):
        if isinstance(value, tf.Variable):
            return Slot("same", value=value)
        return Slot("tensor", dtype=value.dtype, shape=value.shape)
    if is_python_number(value):
        t = tf.convert_to_tensor(value)
        return Slot("tensor", dtype=t.dtype, shape=t.shape, from_python=True)
    if isinstance(value, (list, tuple, dict)) and not isinstance(value, str) and (
            len(value) > 0 and _convertible_nest(value)):
        return Slot("nest", value=value)
    if isinstance(value, list) and len(value) == 0:
        return Slot("nest", value=value)
    if tf.is_tensor(value) or isinstance(value, (tf.TensorArray, tf.experimental.Optional)):
        return Slot("nest", value=value)
    return Slot("same", value=value)


def encode(value, slot, entry=False):
    if slot.kind == "same":
        return None
    if slot.kind == "undefined":
        if slot.template is None:
            return None
        if isinstance(value, Undefined):  # not returned yet: a placeholder value
            return tf.nest.map_structure(placeholder_like, slot.template)
        return tf.nest.map_structure(
            lambda x, s: tf.convert_to_tensor(x, dtype=s.dtype), value, slot.template)
    if slot.kind == "tensor":
        if isinstance(value, Undefined):  # a branch that has not returned yet
            return placeholder_like(tf.TensorSpec(slot.shape, slot.dtype))
        t = tf.convert_to_tensor(value, dtype=slot.dtype) if is_python_number(value) \
            else value
        if entry and slot.shape is not None and t.shape != slot.shape:
            t = tf.compat.v1.placeholder_with_default(t, slot.shape)  # relaxed invariant
        return t
    if slot.kind == "nest":
        if isinstance(value, Undefined):
            return tf.nest.map_structure(placeholder_like, slot.value)
        return tf.nest.map_structure(
            lambda x: tf.convert_to_tensor(x) if is_python_number(x) else x, value)
    if slot.kind == "list":
        if not isinstance(value, GraphList):
            value = GraphList.from_python(value, slot.element)
        return value.to_flow()
    raise AssertionError(slot.kind)


def placeholder_like(like):
    """Zeros standing for a value that is never observed (a return value not
    returned yet on this path): same dtype and rank; unknown dims become 0."""
    if not (tf.is_tensor(like) or isinstance(like, tf.TensorSpec)):
        like = tf.convert_to_tensor(like)
    shape = like.shape
    dims = [0 if d is None else d for d in shape.as_list()] if shape.rank is not None else []
    return tf.zeros(dims, like.dtype)


def decode(encoded, slot):
    if slot.kind == "same":
        return slot.value
    if slot.kind == "undefined" and slot.template is None:
        return slot.value
    if slot.kind == "list":
        return GraphList.from_flow(encoded, slot.element)
    return encoded


def unify(index, name, slot, new, where, loc_text, loop=False):
    """Check a value coming out of a branch/body against its slot spec.

    Returns None when ``new`` fits; raises ``Respec`` when a better spec was
    learned; raises ``StagingError`` when the change cannot be staged.
    """
    from kgraph.operators.staging import display_name
    shown = display_name(name)
    if slot.kind == "same":
        if new is slot.value or _same_list(new, slot.value):
            return
        if isinstance(slot.value, list) and isinstance(new, (list, GraphList)):
            # A Python list that grows in the body: carry it as a GraphList.
            element = _element_spec_of(slot.value, name, loc_text) or \
                _element_spec_of(new, name, loc_text)
            if element is not None:
                raise Respec(index, Slot("list", element=element),
                             note=f"list {shown} is accumulated in a TensorArray")
            return
        if not loop:
            hint = ("return the same kind of value on every path (e.g. a tensor of one "
                    "dtype)" if name.startswith("retval_") else
                    f"give {shown} a tensor value of one dtype in both branches")
            raise StagingTypeError(
                f"{shown} is {_kind_text(slot.value)} in one branch of {where} and "
                f"{_kind_text(new)} in the other; a graph conditional must produce the "
                f"same kind of value in both", location=loc_text, hints=(hint,))
        raise StagingTypeError(
            f"{shown} is {_kind_text(slot.value)} before {where} but becomes "
            f"{_kind_text(new)} inside it; graph control flow cannot change a "
            f"Python object into something else",
            location=loc_text,
            hints=(f"give {shown} a tensor value of the right dtype before {where}",))
    if slot.kind == "undefined":
        if isinstance(new, Undefined):
            return
        if not isinstance(slot.value, _NoReturn):
            if not loop:
                raise OneBranchError([shown], where, loc_text)
            raise UndefinedVariableError(
                f"{shown} is defined inside {where} but not before it, and is used after it",
                location=loc_text,
                hints=(f"assign {shown} a value (of the dtype and shape it will have) "
                       f"before {where}",))
        try:
            template = tf.nest.map_structure(
                lambda x: tf.TensorSpec.from_tensor(tf.convert_to_tensor(x)), new)
        except (TypeError, ValueError):
            raise StagingTypeError(
                f"{where} returns {_kind_text(new)}, which cannot be a graph value",
                location=loc_text,
                hints=("return tensors (or Python numbers) from inside graph control flow",))
        if slot.template is None:
            raise Respec(index, Slot("undefined", value=slot.value, template=template))
        return _check_nest(slot.template, new, shown, where, loc_text)
    if isinstance(new, Undefined):
        if isinstance(new, _NoReturn):
            return
        raise OneBranchError([shown], where, loc_text)
    if slot.kind == "tensor":
        if new is None or not (tf.is_tensor(new) or is_python_number(new)):
            raise StagingTypeError(
                f"{shown} is a tensor before {where} but becomes {_kind_text(new)} inside it",
                location=loc_text, hints=(f"keep {shown} a tensor of dtype {slot.dtype.name}",))
        t = tf.convert_to_tensor(new) if is_python_number(new) else new
        if is_python_number(new):
            if not _python_fits(new, slot.dtype):
                raise Respec(index, dataclasses.replace(slot, dtype=t.dtype))
            return
        if t.dtype != slot.dtype:
            if slot.from_python:
                raise Respec(index, dataclasses.replace(slot, dtype=t.dtype, from_python=False))
            if not loop:
                raise StagingTypeError(
                    f"{shown} is a {slot.dtype.name} tensor in one branch of {where} and a "
                    f"{t.dtype.name} tensor in the other", location=loc_text,
                    hints=(f"cast one of them, e.g. tf.cast(..., tf.{t.dtype.name})",))
            raise StagingTypeError(
                f"{shown} changes dtype inside {where}: {slot.dtype.name} before, "
                f"{t.dtype.name} after",
                location=loc_text,
                hints=(f"cast it back, e.g. tf.cast(..., tf.{slot.dtype.name}), or start "
                       f"{shown} with the dtype it gets inside {where}",))
        if loop and slot.shape is not None and not _fits(t.shape, slot.shape):
            relaxed = slot.shape.most_specific_compatible_shape(t.shape)
            raise Respec(index, dataclasses.replace(slot, shape=relaxed),
                         note=f"shape of {shown} relaxed from {slot.shape} to {relaxed} "
                              f"(it changes across iterations)")
        return
    if slot.kind == "list":
        if not loop and isinstance(new, list):
            # The other branch grew this list (a nested cond made it a
            # GraphList): convert the input list so that both branches agree.
            raise Respec(index, slot)
        if not isinstance(new, GraphList):
            raise StagingTypeError(f"{shown} is a list accumulated in a TensorArray but becomes "
                               f"{_kind_text(new)} inside {where}", location=loc_text)
        if new.element is not None and slot.element is None:
            raise Respec(index, Slot("list", element=new.element))
        return
    if slot.kind == "nest":
        if isinstance(slot.value, list) and (isinstance(new, GraphList) or isinstance(
                new, list) and len(new) != len(slot.value)):
            element = _element_spec_of(slot.value, name, loc_text) or \
                _element_spec_of(new, name, loc_text)
            raise Respec(index, Slot("list", element=element),
                         note=f"list {shown} is accumulated in a TensorArray")
        return _check_nest(slot.value, new, shown, where, loc_text)


def unify_all(values, names, slots, where, loc_text, loop=False):
    """``unify`` every value; variables defined in one branch only are reported together."""
    missing = []
    for i, v in enumerate(values):
        try:
            unify(i, names[i], slots[i], v, where, loc_text, loop=loop)
        except OneBranchError as e:
            missing.extend(e.shown_names)
    if missing:
        raise OneBranchError(missing, where, loc_text)


def _fits(actual, invariant):
    """True if a value of shape ``actual`` satisfies the loop invariant."""
    if invariant.rank is None:
        return True
    if actual.rank != invariant.rank:
        return False
    return all(i is None or i == a for i, a in zip(invariant.as_list(), actual.as_list()))


def _python_fits(value, dtype):
    if isinstance(value, bool):
        return dtype == tf.bool
    if isinstance(value, numbers.Integral):
        return dtype.is_integer or dtype.is_floating
    return dtype.is_floating or dtype.is_complex


def _element_spec_of(lst, name, loc_text):
    if isinstance(lst, (GraphList, TypedList)) and lst.element is not None:
        return lst.element
    if not lst:
        return None
    last = lst[-1]
    try:
        t = tf.convert_to_tensor(last)
    except (TypeError, ValueError):
        from kgraph.operators.staging import display_name
        raise StagingTypeError(
            f"list {display_name(name)} gets {_kind_text(last)} appended in a graph loop; "
            f"only tensors can be accumulated",
            location=loc_text, hints=("append tensors or numbers",))
    return tf.TensorSpec(t.shape, t.dtype)


def _check_nest(before, after, shown, where, loc_text):
    try:
        tf.nest.assert_same_structure(before, after, check_types=False,
                                      expand_composites=False)
    except (ValueError, TypeError) as e:
        raise StagingValueError(
            f"{shown} changes structure inside {where}: {_structure_text(before)} before, "
            f"{_structure_text(after)} after",
            location=loc_text,
            hints=("keep the same nesting (same tuple/list lengths and dict keys)",)) from e
    for b, a in zip(tf.nest.flatten(before), tf.nest.flatten(after)):
        bd = getattr(b, "dtype", None)
        ad = getattr(a, "dtype", None)
        if bd is not None and ad is not None and tf.as_dtype(bd) != tf.as_dtype(ad):
            raise StagingTypeError(
                f"an element of {shown} changes dtype inside {where}: "
                f"{tf.as_dtype(bd).name} before, {tf.as_dtype(ad).name} after",
                location=loc_text, hints=("cast it back to the dtype it had before",))


def _structure_text(v):
    try:
        return str(tf.nest.map_structure(lambda x: type(x).__name__, v))
    except Exception:  # noqa: BLE001 - only used for a message
        return type(v).__name__


def _kind_text(v):
    if v is None:
        return "None"
    if isinstance(v, Undefined):
        return "undefined"
    if tf.is_tensor(v):
        return f"a {v.dtype.name} tensor"
    if isinstance(v, GraphList):
        return "a list accumulated in a TensorArray"
    return f"a Python {type(v).__name__} ({v!r})"[:120]


def _same_list(a, b):
    return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
            and all(x is y for x, y in zip(a, b)))
