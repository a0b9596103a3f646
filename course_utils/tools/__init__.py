"""Course machinery that no lesson imports (the third layer of ``course_utils``).

* :mod:`~course_utils.tools.cli` — ``python -m course_utils <command>`` and the
  ``course-utils`` script;
* :mod:`~course_utils.tools.environment` — the environment report (``doctor``);
* :mod:`~course_utils.tools.notebooks` — reading and writing the notebook files;
* :mod:`~course_utils.tools.colab`, :mod:`~course_utils.tools.exercises`,
  :mod:`~course_utils.tools.toc` — the Colab set-up cell, the learner copies, the README's
  table of chapters;
* :mod:`~course_utils.tools.runner` — executes the notebooks and exports them as HTML.

Arrows point down only: a tool may import the lesson helpers and ``p3d``; a lesson helper
never imports a tool (``tests/test_layout.py`` checks this).
"""
