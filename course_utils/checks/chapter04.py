"""Checks for the exercises of chapter 04."""

from __future__ import annotations

__all__: list[str] = []
