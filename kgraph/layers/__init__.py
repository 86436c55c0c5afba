"""Keras integration: layers and models whose methods kgraph converts."""

from kgraph.layers.graph_layer import GraphLayer
from kgraph.layers.graph_model import GraphModel

__all__ = ["GraphLayer", "GraphModel"]
