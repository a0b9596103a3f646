"""Built-in ``pytorch3d.ops``.

Empty for now: its functions arrive with the chapters that teach them. Until then, asking
``course_utils.p3d.ops`` for a name raises an ``AttributeError`` that says so.
"""

__all__: list[str] = []
