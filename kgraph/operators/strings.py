"""Python's text for tensors: ``str()``, ``repr()``, ``format()``, f-strings,
``str.format`` and ``%``-formatting in converted code.

On Python values every function here is exactly the builtin. When a tensor
takes part, the result is a scalar ``tf.string`` tensor holding the text
Python would have produced for the value the tensor stands for: ints as
Python prints them, floats with Python's shortest round-trip digits (``0.1``,
``1e-05``, ``2.0``), bools as ``True``/``False``, 1-D and deeper tensors like
Python lists (``[1, 2, 3]``). Format specs (``{:>8.3f}``, ``%5d``, ``{:+,}``)
follow Python's mini-language for the types a tensor can have; the few
presentation types with no graph op (``x``, ``o``, ``b``, ``c``, ``n``) are refused
with a hint.
"""

from __future__ import annotations

import re
import string

import tensorflow as tf

from kgraph.errors import StagingValueError, UnsupportedStagingError
from kgraph.operators.lists import GraphList
from kgraph.operators.staging import caller_location, location_text

_FORMATTER = string.Formatter()


def _read(v):
    """A name bound on some paths only (``MaybeUnbound``) read as its checked value;
    a Python number carried as a tensor (``WeakTensor``) as that tensor (an int
    dtype for an int: it prints as one)."""
    from kgraph.operators.undefined import MaybeUnbound
    from kgraph.operators.weak import plain_nest
    return v.checked() if isinstance(v, MaybeUnbound) else plain_nest(v)

_SPEC = re.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?(?P<z>z)?(?P<alt>#)?"
    r"(?P<zero>0)?(?P<width>\d+)?(?P<grouping>[,_])?(?:\.(?P<precision>\d+))?"
    r"(?P<type>[bcdeEfFgGnosxX%])?\Z", re.S)


def _is_tensor(v):
    # (A graph list formats as the Python list it stands for: its stacked tensor.)
    return tf.is_tensor(v) or isinstance(v, (tf.Variable, GraphList))


def _is_graph_list(v):
    from kgraph.operators.lists import GraphList
    return isinstance(v, GraphList)


def _where():
    """The user's file:line (the first frame outside kgraph's operators)."""
    import sys
    frame = sys._getframe(1)
    here = __file__.rsplit("/", 1)[0]
    while frame is not None and frame.f_code.co_filename.startswith(here):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else None


# ---------------------------------------------------------------- str/repr

def str_(*args, **kwargs):
    """``str(v)``."""
    args = tuple(_read(a) for a in args)
    if len(args) == 1 and not kwargs and _holds_tensor(args[0]):
        return python_text(args[0])
    return str(*args, **kwargs)


def repr_(value):
    """``repr(v)``."""
    value = _read(value)
    if _holds_tensor(value):
        return python_text(value, quote_strings=True)
    return repr(value)


def _holds_tensor(value):
    if _is_tensor(value) or _is_graph_list(value):
        return True
    if type(value) in (tuple, list, dict):
        items = value.items() if isinstance(value, dict) else value
        return any(_holds_tensor(v) for v in items)
    return False


def python_text(value, quote_strings=False):
    """Python's ``str`` (or ``repr``) of ``value``: a string tensor when a tensor
    is inside (also in a tuple, list or dict), else the Python string."""
    if _is_tensor(value):
        return text_of(value, quote_strings)
    if _is_graph_list(value):
        return text_of(value.stack(), True)
    if not _holds_tensor(value):
        return repr(value) if quote_strings else str(value)
    if isinstance(value, dict):
        pieces = ["{"]
        for i, (k, v) in enumerate(value.items()):
            pieces += [", " if i else "", python_text(k, True), ": ", python_text(v, True)]
        pieces.append("}")
        return _join(pieces)
    opening, closing = ("(", ")") if isinstance(value, tuple) else ("[", "]")
    pieces = [opening]
    for i, v in enumerate(value):
        pieces += [", " if i else "", python_text(v, True)]
    if isinstance(value, tuple) and len(value) == 1:
        pieces.append(",")
    pieces.append(closing)
    return _join(pieces)


def format_(value, spec=""):
    """``format(v, spec)``."""
    value = _read(value)
    if _is_tensor(value) or _is_tensor(spec):
        return _format_tensor(value, spec, _where())
    return format(value, spec)


def text_of(value, quote_strings=False):
    """A scalar string tensor: Python's ``str`` (or ``repr``) of what ``value`` stands for."""
    from kgraph.operators.builtins import _format_scalar
    t = tf.convert_to_tensor(value)
    if t.shape.rank == 0:
        if quote_strings and t.dtype == tf.string:
            return _quote(t)
        return _format_scalar(t)
    if t.dtype == tf.string:
        items = _quote(t)
    else:
        items = _format_scalar(t)
    rank = t.shape.rank
    if rank is None:
        raise UnsupportedStagingError(
            "str() of a tensor of unknown rank", location=_where(),
            hints=("give the tensor a known rank (tf.ensure_shape) before formatting it",))
    for _ in range(rank):
        items = tf.strings.join(["[", tf.strings.reduce_join(items, axis=-1, separator=", "),
                                 "]"])
    return items


def _quote(t):
    """Python's repr of a str: single quotes unless the text has ' and no "."""
    escaped = tf.strings.regex_replace(t, r"\\", r"\\\\")
    has_single = tf.strings.regex_full_match(t, "(?s).*'.*")
    has_double = tf.strings.regex_full_match(t, '(?s).*".*')
    double = tf.logical_and(has_single, tf.logical_not(has_double))
    single = tf.strings.join(["'", tf.strings.regex_replace(escaped, "'", r"\\'"), "'"])
    return tf.where(double, tf.strings.join(['"', escaped, '"']), single)


# ------------------------------------------------------------------ joining

def _join(pieces):
    if not any(_is_tensor(p) for p in pieces):
        return "".join(pieces)
    return tf.strings.join([p for p in pieces if _is_tensor(p) or p])


def fstring(*pieces):
    """An f-string: literal text and ``fvalue(...)`` results, joined."""
    return _join(pieces)


def fvalue(value, conversion=-1, spec=""):
    """One ``{value!conversion:spec}`` of an f-string."""
    value = _read(value)
    if _is_tensor(value) or _is_tensor(spec):
        if conversion in ("r", "a") or (conversion == "s" and spec):
            value = repr_(value) if conversion != "s" else str_(value)
        return _format_tensor(value, spec, _where())
    if conversion == "r":
        value = repr(value)
    elif conversion == "s":
        value = str(value)
    elif conversion == "a":
        value = ascii(value)
    return format(value, spec)


def str_format(template, *args, **kwargs):
    """``template.format(*args, **kwargs)``; ``template`` may be any object."""
    if not isinstance(template, str):
        from kgraph.operators.calls import call
        return call(template.format, *args, **kwargs)
    args = tuple(_read(a) for a in args)
    kwargs = {k: _read(v) for k, v in kwargs.items()}
    if not any(_is_tensor(a) for a in args) and not any(
            _is_tensor(v) for v in kwargs.values()):
        return template.format(*args, **kwargs)
    loc = location_text(caller_location())
    pieces = []
    auto = 0
    for literal, field, spec, conversion in _FORMATTER.parse(template):
        pieces.append(literal)
        if field is None:
            continue
        if field == "" or field[0] in ".[":
            field = f"{auto}{field}"
            auto += 1
        value, _ = _FORMATTER.get_field(field, args, kwargs)
        if spec and "{" in spec:
            spec = str_format(spec, *args, **kwargs)
        pieces.append(_convert_and_format(value, conversion, spec or "", loc))
    return _join(pieces)


def _convert_and_format(value, conversion, spec, loc):
    if not _is_tensor(value) and not _is_tensor(spec):
        if conversion:
            value = {"r": repr, "s": str, "a": ascii}[conversion](value)
        return format(value, spec)
    if conversion in ("r", "a"):
        value = repr_(value)
    elif conversion == "s":
        value = str_(value)
    return _format_tensor(value, spec, loc)


# -------------------------------------------------------------- %-format

_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[-#0 +]*)(?P<width>\*|\d+)?"
    r"(?:\.(?P<precision>\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])")


def percent_format(template, values):
    """``template % values`` where ``template`` is a literal string."""
    if not isinstance(template, str):
        return template % values
    return percent_text(template, values, location_text(caller_location()))


def percent_text(template, values, loc):
    """``template % values`` for a Python string ``template`` (``loc``: the
    user's line, for errors)."""
    values = tuple(_read(v) for v in values) if isinstance(values, tuple) else _read(values)
    flat = values if isinstance(values, tuple) else (values,)
    if not (_is_tensor(values) or any(_is_tensor(v) for v in flat) or (
            isinstance(values, dict) and any(_is_tensor(v) for v in values.values()))):
        return template % values
    if _is_tensor(values):
        flat = (values,)
    pieces, pos, index = [], 0, 0
    args = list(flat)
    for m in _PERCENT.finditer(template):
        pieces.append(template[pos:m.start()])
        pos = m.end()
        kind = m.group("type")
        if kind == "%":
            pieces.append("%")
            continue
        width, precision = m.group("width"), m.group("precision")
        if width == "*":
            width, index = str(args[index]), index + 1
        if precision == "*":
            precision, index = str(args[index]), index + 1
        if m.group("key") is not None:
            value = values[m.group("key")]
        else:
            if index >= len(args):
                raise TypeError("not enough arguments for format string")
            value, index = args[index], index + 1
        pieces.append(_percent_one(value, m.group("flags"), width, precision, kind, loc))
    if not isinstance(values, dict) and index < len(args):
        raise TypeError("not all arguments converted during string formatting")
    pieces.append(template[pos:])
    return _join(pieces)


def _percent_one(value, flags, width, precision, kind, loc):
    if not _is_tensor(value):
        spec = "%" + flags + (width or "") + (f".{precision}" if precision is not None else "")
        return (spec + kind) % (value,)
    if kind in "sra":
        text = str_(value) if kind == "s" else repr_(value)
        if precision is not None:
            text = tf.strings.substr(text, 0, int(precision), unit="UTF8_CHAR")
        align = "<" if "-" in flags else ">"
        return _format_tensor(text, f"{align}{width or ''}", loc)
    if kind in "iu":
        kind = "d"
    spec = ""
    if "-" in flags:
        spec += "<"
    if "+" in flags:
        spec += "+"
    elif " " in flags:
        spec += " "
    if "#" in flags:
        spec += "#"
    if "0" in flags and "-" not in flags:
        spec += "0"
    spec += width or ""
    if precision is not None:
        spec += f".{precision}"
    t = tf.convert_to_tensor(value)
    if kind == "d" and t.dtype.is_floating:
        t = tf.cast(tf.math.floor(tf.abs(t)) * tf.sign(t), tf.int64)   # %d truncates
    if kind == "d" and precision is not None:
        raise UnsupportedStagingError("'%.Nd' of a tensor is not supported", location=loc,
                                      hints=("use '%0Nd' (zero padding) instead",))
    return _format_tensor(t, spec + kind, loc)


# -------------------------------------------------------------- the spec

def _format_tensor(value, spec, loc):
    if _is_tensor(spec):
        raise UnsupportedStagingError(
            "a format spec computed from a tensor cannot be applied in a graph",
            location=loc, hints=("make the width/precision a Python number",))
    if not spec:
        return python_text(value)
    t = tf.convert_to_tensor(value)
    m = _SPEC.match(spec)
    if m is None:
        raise StagingValueError(f"Invalid format specifier '{spec}'", location=loc,
                                hints=("see Python's format spec mini-language",))
    g = m.groupdict()
    kind, precision = g["type"], g["precision"]
    precision = int(precision) if precision is not None else None
    if t.shape.rank != 0:
        raise UnsupportedStagingError(
            f"a format spec ('{spec}') applied to a tensor of shape {t.shape}",
            location=loc, hints=("format its elements one by one, or use str(t)",))
    if kind in ("b", "c", "o", "x", "X", "n") or g["alt"] or g["z"]:
        raise UnsupportedStagingError(
            f"the format spec '{spec}' has no graph equivalent for a tensor",
            location=loc, hints=("use 'd', 'f', 'e', 'g', '%' or 's' presentation types",
                                 "or format the value outside the graph"))
    if t.dtype == tf.bool:
        t = tf.cast(t, tf.int32)       # non-empty specs format bools as ints (Python)
    if t.dtype == tf.string:
        if kind not in (None, "s") or g["sign"] or g["grouping"]:
            raise StagingValueError(
                f"Unknown format code '{kind or g['sign'] or g['grouping']}' for object of "
                f"type 'str'", location=loc, hints=("format strings with 's'",))
        body = t if precision is None else tf.strings.substr(t, 0, precision,
                                                             unit="UTF8_CHAR")
        numeric = False
    else:
        body = _number_body(t, kind, precision, spec, loc)
        if g["grouping"]:
            body = _group_digits(body, g["grouping"], t.dtype)
        if g["sign"] in ("+", " "):
            negative = tf.strings.regex_full_match(body, "-.*")
            body = tf.where(negative, body, tf.strings.join([g["sign"], body]))
        numeric = True
    fill, align = g["fill"] or " ", g["align"]
    if align is None and g["zero"]:
        fill, align = "0", "="
    if align is None:
        align = ">" if numeric else "<"
    if g["width"] is None:
        return body
    return _pad(body, int(g["width"]), fill, align)


def _number_body(t, kind, precision, spec, loc):
    from kgraph.operators.builtins import _format_float
    if t.dtype.is_integer:
        if kind in (None, "d"):
            if precision is not None:
                raise StagingValueError("Precision not allowed in integer format specifier",
                                        location=loc, hints=("drop the '.N' for integers",))
            return tf.strings.as_string(t)
        t = tf.cast(t, tf.float64)
    if not t.dtype.is_floating:
        raise UnsupportedStagingError(f"formatting a {t.dtype.name} tensor", location=loc)
    if t.dtype not in (tf.float32, tf.float64):
        t = tf.cast(t, tf.float32)
    if kind == "d":
        raise StagingValueError("Unknown format code 'd' for object of type 'float'",
                                location=loc, hints=("use 'f' or round the value first",))
    if kind is None:
        if precision is None:
            return _format_float(t)
        text = tf.strings.as_string(t, precision=max(precision, 1), shortest=True)
        plain = tf.strings.regex_full_match(text, r"-?[0-9]+")
        return tf.where(plain, tf.strings.join([text, ".0"]), text)
    p = 6 if precision is None else precision
    if kind in "fF":
        text = tf.strings.as_string(t, precision=p)
    elif kind in "eE":
        text = tf.strings.as_string(t, precision=p, scientific=True)
    elif kind in "gG":
        text = tf.strings.as_string(t, precision=max(p, 1), shortest=True)
    else:   # '%'
        text = tf.strings.join([tf.strings.as_string(t * 100, precision=p), "%"])
    if kind in "FEG":
        text = tf.strings.upper(text)
    return text


def _group_digits(body, sep, dtype):
    # Insert the separator every three digits of the integer part, from the
    # right: each replacement inserts the rightmost missing separator (the
    # greedy [0-9]+ leaves exactly three digits before the next separator or
    # the decimal point). int32 needs 3 separators, int64 6; floats get 12
    # (every float32, and float64 below 1e39).
    times = {tf.int8: 1, tf.int16: 2, tf.int32: 3, tf.uint8: 1, tf.uint16: 2,
             tf.uint32: 3}.get(dtype, 6 if dtype.is_integer else 12)
    for _ in range(times):
        body = tf.strings.regex_replace(body, r"^([-+ ]?[0-9]+)([0-9]{3})",
                                        r"\1" + sep + r"\2", replace_global=False)
    return body


def _pad(body, width, fill, align):
    n = tf.strings.length(body, unit="UTF8_CHAR")
    pad = tf.maximum(width - n, 0)
    fills = tf.constant(fill * width)

    def run(k):
        return tf.strings.substr(fills, 0, k, unit="UTF8_CHAR")

    if align == "<":
        return tf.strings.join([body, run(pad)])
    if align == ">":
        return tf.strings.join([run(pad), body])
    if align == "^":
        left = pad // 2
        return tf.strings.join([run(left), body, run(pad - left)])
    # '=': padding after the sign
    sign = tf.strings.regex_replace(body, r"(?s)^([-+ ]?).*$", r"\1")
    rest = tf.strings.substr(body, tf.strings.length(sign), n)
    return tf.strings.join([sign, run(pad), rest])
