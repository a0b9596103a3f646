"""The course's pure-PyTorch implementation of the PyTorch3D API subset it teaches.

Subpackages mirror PyTorch3D's (``structures``, ``transforms``, ``renderer``, ``ops``,
``loss``, ``io``, ``utils``) and keep its names, signatures, defaults and conventions:

* points are row vectors, ``X_view = X_world @ R + T``;
* view space: +X left, +Y up, +Z from the camera into the scene;
* NDC: +X left, +Y up, the shorter image side spans [-1, 1];
* batches of meshes/point clouds are held as lists, *packed* (all elements concatenated)
  or *padded* (a ``(N, max, ...)`` tensor), as in PyTorch3D.

Everything is plain PyTorch (+ NumPy for file I/O): it runs on CPU, CUDA and MPS and is
differentiable where PyTorch3D is. Arguments PyTorch3D accepts but this implementation does
not support raise ``NotImplementedError`` naming the argument. Notebooks should import
through :mod:`course_utils.p3d`, not from here, so they also run on real PyTorch3D.
"""
