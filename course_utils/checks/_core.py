"""The machinery behind every exercise check: run the learner's code, compare, report.

A check prints exactly one verdict line — ``✅ Exercise 0.1 (face areas): ...`` or
``❌ ...`` followed by what was expected, what came back and a likely cause — and returns
``True``/``False``. It never lets the learner's exception escape: a stub that still raises
``NotImplementedError`` is reported as "not done yet", any other error by its type and
message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

PASS, FAIL = "✅", "❌"
_LAST_VERDICT = [False]  # the verdict of the last check run (read by yours_or_library)


class CheckFailed(Exception):
    """Raised inside a check when the learner's answer is wrong."""

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


def run_check(title: str, attempt: Callable[[], str]) -> bool:
    """Run ``attempt`` (which returns a success message or raises); print the verdict.

    Args:
        title: e.g. ``"Exercise 0.1 (face areas)"``.
        attempt: calls the learner's code and compares; raises :class:`CheckFailed` with a
            hint when the answer is wrong.

    Returns:
        True when the answer is right.
    """
    _LAST_VERDICT[0] = False
    try:
        success = attempt()
    except NotImplementedError as error:
        print(f"{FAIL} {title}: not done yet ({error}). Replace the `raise` with your code.")
        return False
    except CheckFailed as failure:
        print(f"{FAIL} {title}: {failure.problem}")
        if failure.hint:
            print(f"   hint: {failure.hint}")
        return False
    except Exception as error:  # the learner's code may raise anything: report, don't crash
        print(f"{FAIL} {title}: your code raised {type(error).__name__}: {error}")
        print("   hint: run your function on a small input in a new cell to see where it fails.")
        return False
    print(f"{PASS} {title}: {success}")
    _LAST_VERDICT[0] = True
    return True


def call(fn: Any, *args: Any) -> Any:
    """Call the learner's function, or fail clearly when it is not a function."""
    if not callable(fn):
        raise CheckFailed(
            f"expected a function, got {type(fn).__name__}",
            "pass the function itself, without calling it: check_x(my_function)",
        )
    return fn(*args)


def expect_close(
    got: Any,
    expected: torch.Tensor,
    what: str,
    hint: str = "",
    atol: float = 1e-4,
    rtol: float = 1e-4,
) -> None:
    """Fail unless ``got`` is a tensor of ``expected``'s shape and values (within tolerance)."""
    if not torch.is_tensor(got):
        raise CheckFailed(
            f"{what} should be a torch.Tensor of shape {tuple(expected.shape)}, "
            f"got {type(got).__name__}",
            hint or "return a tensor (did you forget the `return`?)",
        )
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckFailed(
            f"{what} should have shape {tuple(expected.shape)}, got {tuple(got.shape)}", hint
        )
    got = got.detach().to(device="cpu", dtype=expected.dtype)
    if not torch.allclose(got, expected, atol=atol, rtol=rtol):
        worst = int((got - expected).abs().flatten().argmax())
        raise CheckFailed(
            f"{what} is wrong: at flat index {worst} expected "
            f"{expected.flatten()[worst].item():.5g}, got {got.flatten()[worst].item():.5g}",
            hint,
        )


def yours_or_library(yours: Any, library: Any, name: str) -> Any:
    """The function the cells after an exercise use: the learner's once its check passed.

    Call it right after the exercise's check (``checks.check_x(x)``): it reads that check's
    verdict, so that a notebook whose exercise is not done yet still runs, and a solved
    exercise drives the rest of the chapter.

    Args:
        yours: the learner's function (or a small wrapper around it).
        library: the course's own version, with the same signature.
        name: the exercise function's name, for the message.

    Returns:
        ``yours`` when the last check run passed, else ``library``.
    """
    if _LAST_VERDICT[0]:
        print(f"   The cells below use your `{name}`.")
        return yours
    print(f"   Until your `{name}` passes, the cells below use the course's version.")
    return library
