"""Measuring representations side by side (chapter 10's photorealism-spectrum table)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

__all__ = ["tensor_bytes", "seconds_per_call", "markdown_table"]


def tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Total bytes of the tensors (parameters, textures, index buffers)."""
    return int(sum(t.numel() * t.element_size() for t in tensors))


def seconds_per_call(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Best wall time of ``repeats`` calls of ``fn`` (after one warm-up call), no autograd."""
    with torch.no_grad():
        fn()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
    return best


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows of equal keys -> a Markdown table (floats with 3 significant digits)."""
    keys = list(rows[0])

    def cell(value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines)
