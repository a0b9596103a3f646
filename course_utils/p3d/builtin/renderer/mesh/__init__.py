"""Mesh rendering pieces of the built-in renderer."""
