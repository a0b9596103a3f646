"""Built-in ``pytorch3d.transforms``: rotation conversions, SO(3) maps and ``Transform3d``.

Two conventions live side by side, as in PyTorch3D:

* the functions of :mod:`.rotation_conversions` and :mod:`.so3` return matrices for
  **column** vectors (``R @ v``); quaternions are real-part first ``(w, x, y, z)``;
* :class:`Transform3d` and its subclasses (and the cameras) use **row** vectors
  (``p @ M``, translation in the last row). ``Rotate(R.transpose(-1, -2))`` applies a
  column-convention matrix ``R`` to row vectors.
"""

from course_utils.p3d.builtin.transforms.rotation_conversions import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    euler_angles_to_matrix,
    matrix_to_axis_angle,
    matrix_to_euler_angles,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    quaternion_apply,
    quaternion_invert,
    quaternion_multiply,
    quaternion_raw_multiply,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    random_quaternions,
    random_rotation,
    random_rotations,
    rotation_6d_to_matrix,
    standardize_quaternion,
)
from course_utils.p3d.builtin.transforms.se3 import se3_exp_map, se3_log_map
from course_utils.p3d.builtin.transforms.so3 import (
    acos_linear_extrapolation,
    so3_exp_map,
    so3_exponential_map,
    so3_log_map,
    so3_relative_angle,
    so3_rotation_angle,
)
from course_utils.p3d.builtin.transforms.transform3d import (
    Rotate,
    RotateAxisAngle,
    Scale,
    Transform3d,
    Translate,
)

# ``hat`` and ``hat_inv`` stay in ``transforms.so3`` (not listed here): real PyTorch3D
# does not export them from ``pytorch3d.transforms`` either.
__all__ = [
    "Rotate",
    "RotateAxisAngle",
    "Scale",
    "Transform3d",
    "Translate",
    "acos_linear_extrapolation",
    "axis_angle_to_matrix",
    "axis_angle_to_quaternion",
    "euler_angles_to_matrix",
    "matrix_to_axis_angle",
    "matrix_to_euler_angles",
    "matrix_to_quaternion",
    "matrix_to_rotation_6d",
    "quaternion_apply",
    "quaternion_invert",
    "quaternion_multiply",
    "quaternion_raw_multiply",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "random_quaternions",
    "random_rotation",
    "random_rotations",
    "rotation_6d_to_matrix",
    "se3_exp_map",
    "se3_log_map",
    "so3_exp_map",
    "so3_exponential_map",
    "so3_log_map",
    "so3_relative_angle",
    "so3_rotation_angle",
    "standardize_quaternion",
]
