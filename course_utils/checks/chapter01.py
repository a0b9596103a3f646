"""Checks for the exercises of chapter 01."""

from __future__ import annotations

__all__: list[str] = []
