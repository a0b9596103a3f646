"""The PyTorch3D API the course teaches, from real PyTorch3D or the built-in implementation.

Notebooks import PyTorch3D names through this package only::

    from course_utils.p3d import structures, renderer, ops, io, utils, transforms, loss
    mesh = utils.ico_sphere(2)
    R, T = renderer.look_at_view_transform(dist=2.7, elev=10, azim=150)

``BACKEND`` says which implementation is active:

* ``"pytorch3d"`` — real PyTorch3D (``pip``/``conda`` installed, with its compiled ops);
* ``"torch"`` — the course's pure-PyTorch implementation of the same subset
  (:mod:`course_utils.p3d.builtin`), which needs nothing but PyTorch.

Set ``COURSE_BACKEND=auto|torch|pytorch3d`` *before* the first import to choose
(``auto``, the default, prefers real PyTorch3D when it imports). The built-in backend
keeps PyTorch3D's names, signatures, defaults and conventions; an argument it does not
support raises ``NotImplementedError`` naming the argument.
"""

from course_utils.p3d._backend import BACKEND, ENV_VAR, INSTALL_HINT, BackendUnavailableError

__all__ = ["BACKEND", "ENV_VAR", "INSTALL_HINT", "BackendUnavailableError", "describe_backend"]


def describe_backend() -> str:
    """One line saying which PyTorch3D implementation is active and how to switch."""
    if BACKEND == "pytorch3d":
        import pytorch3d

        return (
            f"real PyTorch3D {pytorch3d.__version__} "
            f"(set {ENV_VAR}=torch before importing to use the built-in one)"
        )
    return (
        "built-in pure-PyTorch implementation of the PyTorch3D API "
        f"(install PyTorch3D and set {ENV_VAR}=pytorch3d to use the real one)"
    )
