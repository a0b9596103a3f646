"""``pytorch3d.vis.texture_vis``: show where a mesh's UV coordinates land on its texture."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["texturesuv_image_matplotlib"]


def texturesuv_image_matplotlib(
    texture: object,
    *,
    texture_index: int = 0,
    radius: float = 1,
    color: Sequence[float] = (1.0, 0.0, 0.0),
    subsample: int | None = 10000,
    origin: str = "upper",
) -> None:
    """Draw ``texture``'s map on the current matplotlib axes with a dot at every UV.

    Args:
        texture: a ``TexturesUV`` of one mesh.
        texture_index: which mesh's UVs (0 for a batch of one).
        radius: dot radius in pixels; color: dot colour.
        subsample: draw at most this many dots (a random subset); None for all.
        origin: ``imshow`` origin; "upper" matches :meth:`TexturesUV.centers_for_image`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Circle

    image = texture.maps_padded()[texture_index].detach().cpu().numpy()
    centers = texture.centers_for_image(index=texture_index).cpu().numpy()
    if subsample is not None and len(centers) > subsample:
        centers = centers[np.random.default_rng(0).choice(len(centers), subsample, replace=False)]
    ax = plt.gca()
    ax.imshow(image, origin=origin)
    # clip_on=False: UVs outside [0, 1] show up outside the image, where they are visible.
    dots = [Circle(tuple(c), radius) for c in centers]
    ax.add_collection(PatchCollection(dots, color=tuple(color), clip_on=False))
