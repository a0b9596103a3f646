"""``pytorch3d.vis``: interactive plotly figures (``plot_scene``, ``plot_batch_individually``).

Filled from the backend chosen by ``COURSE_BACKEND`` (see :mod:`course_utils.p3d`).
Notebooks show these figures with :func:`course_utils.interactive.show_figure`, which
falls back to a static picture where a plotly figure cannot render.
"""

from course_utils.p3d._facade import expose

expose(__name__, "vis")
