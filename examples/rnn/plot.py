"""Colour swatch pictures for the colorbot RNN example.

Only the Agg canvas is used (no pyplot, no display), so this works headless
and does not change matplotlib's global backend.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["save_swatches"]

# Layout, in inches / axes fractions.  One row per name; the name is written
# in the left column, then the predicted swatch, then (if known) the true one.
_WIDTH_IN = 6.0
_ROW_IN = 0.3
_HEADER_IN = 0.35  # column labels
_TITLE_IN = 0.35  # extra space when a title is given
_DPI = 100
_NAME_X = 0.02
_PRED_X = (0.55, 0.75)
_TRUE_X = (0.77, 0.97)
_SWATCH_H = 0.8  # fraction of a row
_MAX_NAME_CHARS = 40


def _as_rgb(values, n, what):
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n, 3):
        raise ValueError(f"{what} must have shape ({n}, 3), got {arr.shape}")
    # NaN (e.g. from a diverged model) is drawn as black rather than failing.
    return np.clip(np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def save_swatches(path, names, true_rgb, pred_rgb, title=None):
    """Write a PNG comparing predicted colours with true ones.

    Args:
        path: output file (str or path-like); parent directories are created.
        names: the colour names, one row each.
        true_rgb: ``[N, 3]`` true colours, or ``None`` (e.g. for names given
            on the command line) to draw only the predicted swatches; in a
            list, a row that is ``None`` has no true swatch.
        pred_rgb: ``[N, 3]`` predicted colours.
        title: optional title drawn above the rows.

    Colours are clipped to ``[0, 1]``.  The picture is 600 pixels wide and
    grows by 30 pixels per row.

    Returns:
        ``path`` (as ``os.fspath(path)``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    if isinstance(names, str):
        raise TypeError("names must be a sequence of names, not a single str")
    names = [str(name) for name in names]
    n = len(names)
    if n == 0:
        raise ValueError("save_swatches needs at least one name")
    pred = _as_rgb(pred_rgb, n, "pred_rgb")
    known = [True] * n
    if true_rgb is not None and not isinstance(true_rgb, np.ndarray):
        # A row given as None has no true colour (e.g. a name typed on the
        # command line below held-out names): only its prediction is drawn.
        true_rgb = list(true_rgb)
        known = [row is not None for row in true_rgb]
        true_rgb = [(0.0, 0.0, 0.0) if row is None else row for row in true_rgb]
    true = None if true_rgb is None or not any(known) else _as_rgb(true_rgb, n, "true_rgb")

    top_in = _HEADER_IN + (_TITLE_IN if title else 0.0)
    height_in = n * _ROW_IN + top_in
    fig = Figure(figsize=(_WIDTH_IN, height_in), dpi=_DPI)
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")

    rows_frac = n * _ROW_IN / height_in
    ax = fig.add_axes((0.0, 0.0, 1.0, rows_frac))
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(n, 0.0)  # row 0 at the top
    ax.set_axis_off()

    pad = (1.0 - _SWATCH_H) / 2.0
    for i, name in enumerate(names):
        label = name if len(name) <= _MAX_NAME_CHARS else name[: _MAX_NAME_CHARS - 1] + "\u2026"
        ax.text(_NAME_X, i + 0.5, label, ha="left", va="center", fontsize=10)
        columns = [(_PRED_X, pred[i])]
        if true is not None and known[i]:
            columns.append((_TRUE_X, true[i]))
        for (x0, x1), colour in columns:
            ax.add_patch(
                Rectangle(
                    (x0, i + pad),
                    x1 - x0,
                    _SWATCH_H,
                    facecolor=tuple(colour),
                    edgecolor="none",
                    linewidth=0,
                )
            )

    header_y = 1.0 - (_TITLE_IN if title else 0.0) / height_in - (_HEADER_IN / 2) / height_in
    fig.text(_NAME_X, header_y, "name", ha="left", va="center", fontsize=10, weight="bold")
    fig.text(sum(_PRED_X) / 2, header_y, "predicted", ha="center", va="center", fontsize=10, weight="bold")
    if true is not None:
        fig.text(sum(_TRUE_X) / 2, header_y, "true", ha="center", va="center", fontsize=10, weight="bold")
    if title:
        fig.text(0.5, 1.0 - (_TITLE_IN / 2) / height_in, str(title), ha="center", va="center", fontsize=12)

    out = os.fspath(path)
    parent = os.path.dirname(out)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fig.savefig(out, format="png", dpi=_DPI, facecolor="white")
    return out
