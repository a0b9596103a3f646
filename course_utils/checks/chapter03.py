"""Checks for the exercises of chapter 03."""

from __future__ import annotations

__all__: list[str] = []
