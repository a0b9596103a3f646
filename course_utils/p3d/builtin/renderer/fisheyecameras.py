"""Fisheye cameras: a pinhole camera plus lens distortion (built-in ``pytorch3d.renderer``).

Wide-angle lenses bend straight lines: a point's image lies at a distance from the image
centre that grows with the *angle* ``theta`` between its ray and the optical axis rather
than with ``tan(theta)`` (a pinhole). :class:`FishEyeCameras` follows PyTorch3D's model
(the one of Meta's Aria glasses), for a view-space point ``(x, y, z)``:

1. **Radial** (eq. 1)::

       a, b = x / z, y / z          r = sqrt(a^2 + b^2)      theta = atan(r)
       (x_r, y_r) = theta * (1 + k1 theta^2 + k2 theta^4 + ... + k6 theta^12) * (a, b) / r

2. **Tangential** (eq. 2; a lens not quite parallel to the sensor), with
   ``rd^2 = x_r^2 + y_r^2``::

       dx_t = 2 (p1 x_r + p2 y_r) x_r + rd^2 p1
       dy_t = 2 (p1 x_r + p2 y_r) y_r + rd^2 p2

3. **Thin prism** (eq. 3)::

       dx_p = s1 rd^2 + s2 rd^4        dy_p = s3 rd^2 + s4 rd^4

4. **Projection** (eq. 4): ``(u, v) = f * ((x_r, y_r) + tangential + thin prism) + (cu, cv)``.

``use_radial=False`` replaces ``(x_r, y_r)`` by ``(a, b)`` in step 4 (the tangential and
thin-prism terms are still computed from ``(x_r, y_r)``, as in PyTorch3D); with all three
switched off the camera is the pinhole ``f * (x/z, y/z) + (cu, cv)``.
:meth:`FishEyeCameras.unproject_points` inverts the model with Newton's method (a fixed
number of steps, every point at once) and returns the point on the ray at ``z = 1``.

Everything is vectorised over cameras and points and differentiable (no in-place writes,
``torch.where`` instead of masked assignment).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from course_utils.p3d.builtin.common import Device, format_tensor
from course_utils.p3d.builtin.renderer.camera_checks import _check_finite
from course_utils.p3d.builtin.renderer.cameras import _R, _T, CamerasBase
from course_utils.p3d.builtin.transforms import Transform3d

__all__ = ["FishEyeCameras"]

#: Highest power of theta^2 in the radial polynomial (PyTorch3D's six coefficients).
_NUM_RADIAL = 6

_focal_length = torch.tensor(((1.0,),))
_principal_point = torch.tensor(((0.0, 0.0),))
_radial_params = torch.zeros(1, _NUM_RADIAL)
_tangential_params = torch.zeros(1, 2)
_thin_prism_params = torch.zeros(1, 4)


class FishEyeCameras(CamerasBase):
    """Cameras with radial, tangential and thin-prism lens distortion (PyTorch3D's model).

    Projections land directly in the image plane of the calibration (``f`` and ``(cu,
    cv)`` are in whatever units they are given, usually pixels); the third output
    coordinate is 1. ``get_projection_transform`` is not available: the map is not a
    4x4 matrix.

    Args:
        focal_length: ``(N, 1)`` focal length (``(N, 2)`` for ``(fx, fy)`` also works).
        principal_point: ``(N, 2)`` ``(cu, cv)``.
        radial_params: ``(N, k)``, ``k <= 6``: ``k1 .. k6`` (missing ones are zero).
        tangential_params: ``(N, 2)``: ``p1, p2``.
        thin_prism_params: ``(N, 4)``: ``s1 .. s4``.
        R: ``(N, 3, 3)`` world → view rotations (used when ``world_coordinates``).
        T: ``(N, 3)`` world → view translations.
        world_coordinates: ``transform_points`` takes world points (``X_world @ R + T``
            first) instead of view points.
        use_radial, use_tangential, use_thin_prism: switch the three distortions.
        device: device of the parameters.
        image_size: optional ``((H, W),)`` or ``(N, 2)``.

    Every parameter has batch size 1 or ``N``.
    """

    _FIELDS = (
        "focal_length",
        "principal_point",
        "R",
        "T",
        "radial_params",
        "tangential_params",
        "thin_prism_params",
        "world_coordinates",
        "use_radial",
        "use_tangential",
        "use_thin_prism",
        "image_size",
    )

    def __init__(
        self,
        focal_length: Any = _focal_length,
        principal_point: Any = _principal_point,
        radial_params: Any = _radial_params,
        tangential_params: Any = _tangential_params,
        thin_prism_params: Any = _thin_prism_params,
        R: torch.Tensor = _R,
        T: torch.Tensor = _T,
        world_coordinates: bool = False,
        use_radial: bool = True,
        use_tangential: bool = True,
        use_thin_prism: bool = True,
        device: Device = "cpu",
        image_size: Any = None,
    ) -> None:
        name = type(self).__name__
        dtype = R.dtype if torch.is_tensor(R) and R.is_floating_point() else torch.float32
        params = {}
        for key, value, widths in (
            ("focal_length", focal_length, (1, 2)),
            ("principal_point", principal_point, (2,)),
            ("radial_params", radial_params, tuple(range(1, _NUM_RADIAL + 1))),
            ("tangential_params", tangential_params, (2,)),
            ("thin_prism_params", thin_prism_params, (4,)),
        ):
            tensor = format_tensor(value, dtype=dtype, device=device).to(dtype)
            if key == "focal_length" and tensor.dim() == 1:
                tensor = tensor[:, None]  # a number or one per camera
            if tensor.dim() != 2 or tensor.shape[1] not in widths:
                allowed = " or ".join(f"(N, {w})" for w in (widths[0], widths[-1]))
                if key == "radial_params":
                    allowed = f"(N, k) with 1 <= k <= {_NUM_RADIAL}"
                raise ValueError(
                    f"{name}: {key} must have shape {allowed}; got shape {tuple(tensor.shape)}"
                )
            params[key] = tensor
        extra = {"image_size": image_size} if image_size is not None else {}
        super().__init__(
            dtype=dtype,
            device=device,
            R=R,
            T=T,
            world_coordinates=bool(world_coordinates),
            use_radial=bool(use_radial),
            use_tangential=bool(use_tangential),
            use_thin_prism=bool(use_thin_prism),
            **params,
            **extra,
        )
        if image_size is not None:
            if bool((self.image_size < 1).any()):
                raise ValueError(f"{name}: image_size must be positive (height, width)")
        else:
            self.image_size = None
        #: Below this ``r`` (or derivative) the small-angle limits are used.
        self.epsilon = 1e-10
        #: Newton steps of :meth:`unproject_points` (a fixed number: no data-dependent loop).
        self.num_distortion_iters = 50

    # ----------------------------------------------------------------- helpers

    @property
    def focal(self) -> torch.Tensor:
        """PyTorch3D's attribute name for ``focal_length`` (``(N, 1)``)."""
        return self.focal_length

    @property
    def num_radial(self) -> int:
        """How many radial coefficients were given."""
        return int(self.radial_params.shape[-1])

    def _radial(self) -> torch.Tensor:
        """``(N, 6)`` radial coefficients, zero-padded."""
        k = self.radial_params
        return torch.nn.functional.pad(k, (0, _NUM_RADIAL - k.shape[-1]))

    def _batched(self, points: torch.Tensor, method: str, arg: str) -> tuple[torch.Tensor, bool]:
        """Check ``points``' shape against the batch; return them ready to broadcast.

        With one camera any ``(P, 3)`` / ``(M, P, 3)`` works and keeps its shape. With
        ``N > 1`` cameras the points are ``(P, 3)`` or ``(1, P, 3)`` (the same for every
        camera) or ``(N, P, 3)`` (one set per camera); the result is ``(N, P, 3)``.
        Returns the points and whether the parameters need a batch axis.
        """
        N = len(self)
        where = f"{type(self).__name__}.{method}"
        if not torch.is_tensor(points):
            raise ValueError(f"{where}: {arg} must be a torch.Tensor; got {type(points).__name__}")
        ok = points.dim() in (2, 3) and points.shape[-1] == 3
        if ok and N > 1 and points.dim() == 3 and points.shape[0] not in (1, N):
            ok = False
        if not ok:
            raise ValueError(
                f"{where}: expected {arg} of shape (P, 3) or (1, P, 3), or (M, P, 3) with "
                f"M = 1 or the number of cameras ({N}); got points of shape "
                f"{tuple(points.shape)} and batch size {N}"
            )
        _check_finite(points, f"{where}: {arg}", "check the points you passed")
        points = points.to(device=self.device, dtype=self._dtype)
        if N == 1:
            return points, False
        return (points[None] if points.dim() == 2 else points), True

    def _params(self, batched: bool) -> tuple[torch.Tensor, ...]:
        """The distortion parameters shaped ``(k,)`` (one camera) or ``(N, 1, k)``."""
        values = (
            self.focal_length,
            self.principal_point,
            self._radial(),
            self.tangential_params,
            self.thin_prism_params,
        )
        return tuple(v[:, None] if batched else v[0] for v in values)

    def _distortion_offsets(
        self, xr_yr: torch.Tensor, tangential: torch.Tensor, thin_prism: torch.Tensor
    ) -> torch.Tensor:
        """Tangential + thin-prism offsets (eqs. 2, 3) at ``xr_yr`` ``(..., 2)``."""
        offset = torch.zeros_like(xr_yr)
        rd2 = (xr_yr * xr_yr).sum(-1, keepdim=True)  # (..., 1)
        if self.use_tangential:
            dot = 2.0 * (xr_yr * tangential).sum(-1, keepdim=True)
            offset = offset + dot * xr_yr + rd2 * tangential
        if self.use_thin_prism:
            powers = torch.cat([rd2, rd2 * rd2], dim=-1)  # (..., 2): rd^2, rd^4
            dx = (thin_prism[..., 0:2] * powers).sum(-1)
            dy = (thin_prism[..., 2:4] * powers).sum(-1)
            offset = offset + torch.stack([dx, dy], dim=-1)
        return offset

    def _jacobian(
        self, xr_yr: torch.Tensor, tangential: torch.Tensor, thin_prism: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Entries ``(j00, j01, j10, j11)`` of d(distorted) / d(xr_yr), each ``(...)``."""
        x, y = xr_yr[..., 0], xr_yr[..., 1]
        one = torch.ones_like(x)
        j00, j01, j10, j11 = one, torch.zeros_like(x), torch.zeros_like(x), one
        if self.use_tangential:
            p1, p2 = tangential[..., 0], tangential[..., 1]
            off = 2.0 * (x * p2 + y * p1)
            j00 = j00 + 6.0 * x * p1 + 2.0 * y * p2
            j11 = j11 + 6.0 * y * p2 + 2.0 * x * p1
            j01, j10 = j01 + off, j10 + off
        if self.use_thin_prism:
            rd2 = x * x + y * y
            s = thin_prism
            t1 = 2.0 * (s[..., 0] + 2.0 * s[..., 1] * rd2)
            t2 = 2.0 * (s[..., 2] + 2.0 * s[..., 3] * rd2)
            j00, j01 = j00 + x * t1, j01 + y * t1
            j10, j11 = j10 + x * t2, j11 + y * t2
        return j00, j01, j10, j11

    # ----------------------------------------------------------------- projection

    def get_projection_transform(self, **kwargs: Any) -> Transform3d:
        """Not available: lens distortion is not a 4x4 matrix; use :meth:`transform_points`."""
        raise NotImplementedError(
            "FishEyeCameras has no projection matrix (lens distortion is not linear); "
            "call cameras.transform_points(points) instead"
        )

    def transform_points(
        self, points: torch.Tensor, eps: float | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """Project points into the (distorted) image plane.

        Args:
            points: view-space points (world points when ``world_coordinates``):
                ``(P, 3)``, ``(1, P, 3)`` or ``(M, P, 3)``; with ``N > 1`` cameras ``M``
                must be 1 or ``N``.
            eps: passed to the world → view transform (clamps its ``w``).

        Returns:
            ``(..., 3)``: ``(u, v, 1)``. Same shape as ``points`` for one camera,
            ``(N, P, 3)`` for ``N > 1`` cameras.

        Raises:
            ValueError: points of another shape, or holding NaN/inf.
        """
        points, batched = self._batched(points, "transform_points", "points")
        if self.world_coordinates:
            points = self.get_world_to_view_transform().transform_points(points, eps=eps)
            batched = points.dim() == 3 and len(self) > 1
        focal, principal, radial, tangential, thin_prism = self._params(batched)
        ab = points[..., :2] / points[..., 2:]
        r = ab.norm(dim=-1)
        theta = torch.atan(r)
        t = theta * theta
        t_powers = torch.stack([t ** (i + 1) for i in range(_NUM_RADIAL)], dim=-1)
        theta_radial = 1.0 + (t_powers * radial).sum(-1)
        # theta / r -> 1 as r -> 0; the safe denominator keeps the gradient finite there.
        small = r.abs() < self.epsilon
        theta_over_r = torch.where(small, torch.ones_like(r), theta / torch.where(small, 1.0, r))
        xr_yr = (theta_radial * theta_over_r)[..., None] * ab
        uv = xr_yr if self.use_radial else ab
        uv = uv + self._distortion_offsets(xr_yr, tangential, thin_prism)
        projected = focal * uv + principal
        return torch.cat([projected, torch.ones_like(projected[..., :1])], dim=-1)

    # ----------------------------------------------------------------- unprojection

    def _undistort(
        self, uv: torch.Tensor, tangential: torch.Tensor, thin_prism: torch.Tensor
    ) -> torch.Tensor:
        """Solve ``xr_yr + offsets(xr_yr) = uv`` for ``xr_yr`` (Newton, 2x2 by Cramer)."""
        if not self.use_tangential and not self.use_thin_prism:
            return uv
        xr_yr = uv
        for _ in range(self.num_distortion_iters):
            residual = uv - (xr_yr + self._distortion_offsets(xr_yr, tangential, thin_prism))
            j00, j01, j10, j11 = self._jacobian(xr_yr, tangential, thin_prism)
            det = j00 * j11 - j01 * j10
            dx = (j11 * residual[..., 0] - j01 * residual[..., 1]) / det
            dy = (j00 * residual[..., 1] - j10 * residual[..., 0]) / det
            xr_yr = xr_yr + torch.stack([dx, dy], dim=-1)
        return xr_yr

    def _theta_from_radius(self, radial: torch.Tensor, rd: torch.Tensor) -> torch.Tensor:
        """Solve ``theta (1 + k1 theta^2 + ...) = rd`` for theta in ``[0, pi/2)`` (Newton)."""
        powers = torch.arange(1, _NUM_RADIAL + 1, dtype=rd.dtype, device=rd.device)
        slope_coeffs = 2.0 * powers + 1.0  # d/dtheta theta^(2i+1) = (2i+1) theta^(2i)
        theta = rd
        eps = self.epsilon
        for _ in range(self.num_distortion_iters):
            t = theta * theta
            t_powers = torch.stack([t ** (i + 1) for i in range(_NUM_RADIAL)], dim=-1)
            value = theta * (1.0 + (t_powers * radial).sum(-1))
            slope = 1.0 + (slope_coeffs * radial * t_powers).sum(-1)
            error = rd - value
            flat = slope.abs() <= eps
            newton = error / torch.where(flat, torch.ones_like(slope), slope)
            # A (nearly) flat polynomial: a tiny step in the direction that reduces the error.
            nudge = torch.where(error * slope > 0.0, 10.0 * eps, -10.0 * eps)
            theta = theta + torch.where(flat, nudge, newton)
            # Stay inside the 180-degree field of view.
            theta = torch.where(theta.abs() >= math.pi / 2.0, 0.999 * math.pi / 2.0, theta)
        return theta

    def unproject_points(
        self,
        xy_depth: torch.Tensor,
        world_coordinates: bool = True,
        scaled_depth_input: bool = False,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Invert :meth:`transform_points`: image points to the points on their rays at z = 1.

        As in PyTorch3D, the third input coordinate is not used (the projection forgets
        depth) and the radial model is always inverted, whatever ``use_radial`` says.

        Args:
            xy_depth: ``(P, 3)``, ``(1, P, 3)`` or ``(M, P, 3)``: ``(u, v, anything)``.
            world_coordinates: when the cameras were made with ``world_coordinates=True``,
                return world points (view → world with ``R``, ``T``); otherwise, and by
                default (PyTorch3D's ``world_coordinates=False`` cameras), view points.
            scaled_depth_input: unused (PyTorch3D's signature).

        Returns:
            ``(..., 3)`` points with view ``z = 1``; shapes as :meth:`transform_points`.
        """
        xy_depth, batched = self._batched(xy_depth, "unproject_points", "xy_depth")
        focal, principal, radial, tangential, thin_prism = self._params(batched)
        uv = (xy_depth[..., :2] - principal) / focal
        xr_yr = self._undistort(uv, tangential, thin_prism)
        rd = xr_yr.norm(dim=-1)
        theta = self._theta_from_radius(radial, rd)
        # tan(theta) / rd -> 1 as rd -> 0 (theta ~ rd there).
        small = rd < self.epsilon
        scale = torch.where(small, torch.ones_like(rd), theta.tan() / torch.where(small, 1.0, rd))
        ab = scale[..., None] * xr_yr
        points = torch.cat([ab, torch.ones_like(ab[..., :1])], dim=-1)
        if self.world_coordinates and world_coordinates:
            to_world = self.get_world_to_view_transform().inverse()
            points = to_world.transform_points(points)
        return points

    def is_perspective(self) -> bool:
        """False, as in PyTorch3D (the depth is not divided into the output)."""
        return False

    def in_ndc(self) -> bool:
        """True, as in PyTorch3D."""
        return True
