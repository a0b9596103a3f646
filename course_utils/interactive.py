"""Show a plotly 3D figure a learner can rotate, or a static picture where it cannot render.

:func:`show_figure` is what notebooks call on figures from
``course_utils.p3d.vis.plot_scene``. In a live Jupyter kernel (JupyterLab, Colab,
VS Code) it shows the interactive plotly figure. Where a figure cannot be interactive —
fast mode (the tests, ``COURSE_FAST=1``), a plain Python script, or
``COURSE_STATIC_FIGURES=1`` (set it before exporting a notebook to a static format) —
it shows a matplotlib picture of the same traces instead, drawn from the figure's
data (no browser or ``kaleido`` needed). :func:`figure_to_matplotlib` makes that
picture.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["figure_to_matplotlib", "interactive_available", "show_figure"]

_TRUE = {"1", "true", "yes", "on"}


def interactive_available() -> bool:
    """True in a live Jupyter kernel that is not in fast mode or asked for static figures."""
    if os.environ.get("COURSE_STATIC_FIGURES", "0").strip().lower() in _TRUE:
        return False
    if os.environ.get("COURSE_FAST", "0").strip().lower() in _TRUE:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _rgb(color: Any, default: tuple[float, float, float]) -> Any:
    """Plotly colours -> matplotlib RGB in [0, 1].

    Colour strings ``rgb(r,g,b)`` (one or a list), or numeric ``(V, 3)`` rows in 0..255
    (PyTorch3D's ``plot_scene`` gives a mesh's vertex colours that way).
    """
    if color is None:
        return default
    if isinstance(color, str):
        if color.startswith("rgb("):
            return tuple(float(v) / 255 for v in color[4:-1].split(","))
        return color
    numeric = np.asarray(color)
    if numeric.dtype.kind in "fiu":
        return numeric[..., :3].astype(float) / 255
    return np.array([_rgb(c, default) for c in color])


def figure_to_matplotlib(fig: Any, *, elev: float = 20.0, azim: float = -60.0) -> Any:
    """Draw a plotly figure's ``Mesh3d`` and ``Scatter3d`` traces with matplotlib.

    One 3D axes per plotly scene, titled like the subplot; axes as in the figure (+Y up,
    shown as matplotlib's vertical axis). Returns the ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    scenes = sorted({t.scene or "scene" for t in fig.data}, key=lambda s: int(s[5:] or 1))
    titles = [a.text for a in (fig.layout.annotations or ())]
    out = plt.figure(figsize=(4.5 * len(scenes), 4.5))
    for index, scene in enumerate(scenes):
        ax = out.add_subplot(1, len(scenes), index + 1, projection="3d")
        # Plotly's "up" is world +Y; matplotlib's vertical axis is its z: plot (x, z, y).
        points = []
        for trace in (t for t in fig.data if (t.scene or "scene") == scene):
            xyz = np.stack([np.asarray(trace.x, float), np.asarray(trace.y, float),
                            np.asarray(trace.z, float)], 1)  # fmt: skip
            points.append(xyz)
            if trace.type == "mesh3d":
                faces = np.stack([trace.i, trace.j, trace.k], 1).astype(int)
                colors = _rgb(trace.vertexcolor, (0.8, 0.8, 0.8))
                if isinstance(colors, np.ndarray) and colors.ndim == 2:
                    colors = colors[faces].mean(1)  # flat colour per face
                else:
                    colors = _rgb(trace.color, (0.8, 0.8, 0.8))
                tris = xyz[:, [0, 2, 1]][faces]
                ax.add_collection3d(Poly3DCollection(tris, facecolors=colors, edgecolor="none"))
            elif trace.mode and "markers" in trace.mode:
                color = _rgb(trace.marker.color, (0.1, 0.3, 0.8))
                ax.scatter(xyz[:, 0], xyz[:, 2], xyz[:, 1], s=2, c=color, depthshade=False)
            else:
                ax.plot(xyz[:, 0], xyz[:, 2], xyz[:, 1], linewidth=1)
        if points:
            allp = np.concatenate(points)
            allp = allp[np.isfinite(allp).all(1)]
            centre, half = allp.mean(0), np.ptp(allp, 0).max() / 2 or 1.0
            ax.set_xlim(centre[0] - half, centre[0] + half)
            ax.set_ylim(centre[2] - half, centre[2] + half)
            ax.set_zlim(centre[1] - half, centre[1] + half)
        ax.set_xlabel("x")
        ax.set_ylabel("z")
        ax.set_zlabel("y (up)")
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=elev, azim=azim)
        if index < len(titles):
            ax.set_title(titles[index])
    out.tight_layout()
    return out


def show_figure(fig: Any, *, static: bool | None = None) -> Any:
    """Show ``fig`` interactively where possible, else as a static matplotlib picture.

    Args:
        fig: a plotly figure (e.g. from ``plot_scene``).
        static: force the static picture (True) or the interactive figure (False);
            default: :func:`interactive_available` decides.

    Returns:
        The plotly figure when shown interactively, else the matplotlib figure.
    """
    if static is None:
        static = not interactive_available()
    if not static:
        fig.show()
        return fig
    import matplotlib.pyplot as plt

    picture = figure_to_matplotlib(fig)
    plt.show()
    return picture
