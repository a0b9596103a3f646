"""3D Gaussian splatting on a CPU (chapter 10): Gaussians, a differentiable rasterizer,
``.ply`` export in the layout 3DGS viewers read, and fitting with densification.

Modules:
    gaussians   the parameters (means, log-scales, quaternions, opacity logits, SH colours)
    rasterize   projection (EWA), candidate pairs, front-to-back compositing, backward
    ply         ``.ply`` export/import in the 3DGS layout
    fit         training on multi-view images: densify (clone/split), prune, reset opacity
"""

from course_utils.splats.gaussians import Gaussians, covariances, eval_sh, rgb_to_sh0, sh0_to_rgb
from course_utils.splats.rasterize import RenderOutput, project_gaussians, render_gaussians

__all__ = [
    "Gaussians",
    "covariances",
    "eval_sh",
    "rgb_to_sh0",
    "sh0_to_rgb",
    "RenderOutput",
    "project_gaussians",
    "render_gaussians",
]
