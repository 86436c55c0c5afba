"""The Python blocks of the docs run as written (docs with runnable examples stay runnable)."""

import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def _blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def _run(name, tmp_path):
    # Write the blocks to a real file: kgraph converts from source files.
    path = tmp_path / ("doc_" + name.replace(".md", ".py"))
    path.write_text("\n\n".join(_blocks(DOCS / name)))
    namespace = {"__name__": "doc_example"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace


def test_keras_guide_runs(tmp_path, capfd):
    ns = _run("keras.md", tmp_path)
    out = capfd.readouterr().out
    assert "['loss', 'val_loss']" in out
    assert ns["thresholded"].step_records[0]["rows"].shape[1] == 1


@pytest.mark.parametrize("name", ["converter.md"])
def test_doc_examples_run(name, tmp_path, capfd):
    # Write the blocks to a real file: kgraph converts from source files.
    path = tmp_path / ("doc_" + name.replace(".md", ".py"))
    path.write_text("\n\n".join(_blocks(DOCS / name)))
    namespace = {"__name__": "doc_example"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    out = capfd.readouterr().out
    assert "total: " in out
    assert "variable 'y' is read before it is assigned" in out
    assert "x=   3 q=-3 r=2 0.75 1\n" in out            # expressions and strings
    assert "13\n14\nFizzBuzz\n" in out                 # FizzBuzz in one graph
