"""Single-view 3D reconstruction models (chapter 05): image encoders, four decoders, losses.

* :mod:`.encoders` — :class:`ConvEncoder` (small CNN, trained from scratch, CPU-friendly)
  and :class:`ResNet18Encoder` (torchvision, optional, local weights only);
* :mod:`.decoders` — voxels (:class:`VoxelMLPDecoder`, :class:`VoxelConvDecoder`),
  points (:class:`PointDecoder`), meshes (:class:`MeshDecoder`), implicit occupancy
  (:class:`ImplicitDecoder`);
* :mod:`.losses` — the training loss of each representation;
* :mod:`.single_view` — :class:`SingleViewModel` (encoder + decoder + its loss) and
  :func:`build_model` (from a :class:`ModelConfig`);
* :mod:`.toy` — :class:`ToyShapes`, a tiny synthetic stand-in dataset for tests.
"""

from course_utils.models.decoders import (
    ImplicitDecoder,
    MeshDecoder,
    PointDecoder,
    VoxelConvDecoder,
    VoxelMLPDecoder,
    voxel_centres,
)
from course_utils.models.encoders import ConvEncoder, ResNet18Encoder, torchvision_available
from course_utils.models.single_view import (
    DECODERS,
    KINDS,
    LossConfig,
    ModelConfig,
    SingleViewModel,
    build_model,
)
from course_utils.models.toy import ToyShapes

__all__ = [
    "ConvEncoder",
    "ResNet18Encoder",
    "torchvision_available",
    "VoxelMLPDecoder",
    "VoxelConvDecoder",
    "PointDecoder",
    "MeshDecoder",
    "ImplicitDecoder",
    "voxel_centres",
    "DECODERS",
    "KINDS",
    "LossConfig",
    "ModelConfig",
    "SingleViewModel",
    "build_model",
    "ToyShapes",
]
