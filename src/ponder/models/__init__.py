"""Packaged models, model references and prices."""
