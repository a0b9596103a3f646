"""Image encoders: one RGB image -> one latent vector that describes the shape.

Two encoders, same interface ``encoder(images) -> latent``:

* :class:`ConvEncoder` (the default): a small convolutional network trained from scratch.
  It works well on a laptop CPU: the image is resized to ``input_size`` (64² by default),
  then five blocks each halve the resolution (64 → 32 → 16 → 8 → 4 → 2) while the number
  of channels grows, and a linear layer turns the final 2 x 2 map into the latent vector.
* :class:`ResNet18Encoder`: torchvision's ResNet-18 with its classifier replaced by a
  linear layer to the latent size. Only available when ``torchvision`` imports; it loads
  pretrained ImageNet weights **only from a file you already have** (``weights_path``), it
  never downloads.

Why a 2 x 2 map and not a global average pool to 1 x 1? The shape is predicted in the
object's own (canonical) frame, but the image shows it from a random viewpoint: *where*
things are in the image tells the network how the object is turned. Pooling everything
into one cell would throw that away; a 2 x 2 map keeps a coarse layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from torch import nn

__all__ = ["ConvEncoder", "ResNet18Encoder", "torchvision_available"]


def _norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    raise ValueError(f'norm must be "batch" or "group", got {kind!r}')


def _checked_and_resized(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """``(B, 3, S, S)`` images, resized to ``(B, 3, size, size)`` unless ``size`` is None.

    Antialiased bilinear resizing, so that shrinking a 128² render does not alias thin parts.
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, S, S), got {tuple(images.shape)}")
    if size is None or images.shape[-2:] == (size, size):
        return images
    return F.interpolate(
        images, size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )


class ConvEncoder(nn.Module):
    """A small CNN trained from scratch: ``(B, 3, S, S)`` images -> ``(B, latent_dim)``.

    Architecture (``input_size=64``, default channels)::

        resize to 64 x 64, map [0, 1] -> [-1, 1]
        5 x [conv 3x3 stride 2 -> norm -> ReLU -> conv 3x3 -> norm -> ReLU]
             64² x 3 -> 32² x 32 -> 16² x 64 -> 8² x 128 -> 4² x 256 -> 2² x 256
        adaptive average pool to 2 x 2 (a no-op at 64², it makes any size work)
        flatten (1024) -> linear -> latent_dim

    Args:
        latent_dim: size of the latent vector.
        channels: output channels of the five (or any number of) stride-2 blocks.
        input_size: images are resized (bilinear, antialiased) to this size first;
            None keeps them as they are. 64 keeps training fast on a CPU; the shapes'
            silhouettes are still clear at that size.
        norm: ``"batch"`` (BatchNorm, default: fast and trains quickly) or ``"group"``
            (GroupNorm: the same in training and evaluation, good for tiny batches).
        in_channels: channels of the first block's input (3 for RGB; chapter 08's
            :class:`~course_utils.models.depth.DepthNet` adds a fourth, which runs its
            blocks itself; :meth:`forward` takes RGB images).

    Example:
        >>> encoder = ConvEncoder(latent_dim=16, channels=(4, 8), input_size=32)
        >>> encoder(torch.rand(2, 3, 48, 48)).shape
        torch.Size([2, 16])
    """

    def __init__(
        self,
        latent_dim: int = 256,
        channels: Sequence[int] = (32, 64, 128, 256, 256),
        input_size: int | None = 64,
        norm: str = "batch",
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.input_size = input_size
        blocks: list[nn.Module] = []
        previous = int(in_channels)
        for width in channels:
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(previous, width, 3, stride=2, padding=1, bias=False),
                    _norm2d(norm, width),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(width, width, 3, padding=1, bias=False),
                    _norm2d(norm, width),
                    nn.ReLU(inplace=True),
                )
            )
            previous = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(previous * 4, self.latent_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` RGB in [0, 1] -> ``(B, latent_dim)`` latent vectors."""
        x = _checked_and_resized(images, self.input_size)
        x = self.blocks(x * 2.0 - 1.0)
        return self.fc(self.pool(x).flatten(1))


def torchvision_available() -> bool:
    """True when ``torchvision`` imports (needed only by :class:`ResNet18Encoder`)."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        return False
    return True


class ResNet18Encoder(nn.Module):
    """torchvision's ResNet-18 as the encoder: ``(B, 3, S, S)`` -> ``(B, latent_dim)``.

    The images are normalised with ImageNet's mean and standard deviation (what the
    pretrained weights expect), the network runs up to its global average pool (512
    features) and a new linear layer maps them to ``latent_dim``.

    Args:
        latent_dim: size of the latent vector.
        weights_path: a ``.pth`` file with ResNet-18 ImageNet weights that you already have
            (e.g. torchvision's ``resnet18-f37072fd.pth``); None trains from scratch.
            Nothing is ever downloaded. The file is loaded with ``weights_only=True``.
        input_size: images are resized to this size first (None: as they are).

    Raises:
        ImportError: torchvision is not installed (the default :class:`ConvEncoder` needs
            nothing extra).
        FileNotFoundError: ``weights_path`` does not exist.
    """

    MEAN = (0.485, 0.456, 0.406)
    STD = (0.229, 0.224, 0.225)

    def __init__(
        self,
        latent_dim: int = 256,
        weights_path: str | Path | None = None,
        input_size: int | None = 128,
    ) -> None:
        super().__init__()
        try:
            from torchvision.models import resnet18
        except ImportError as error:
            raise ImportError(
                "the ResNet-18 encoder needs torchvision, which is not installed. Install the "
                "build that matches your torch (CPU: pip install torchvision --index-url "
                "https://download.pytorch.org/whl/cpu), or use the default encoder='conv'."
            ) from error
        net = resnet18(weights=None)
        if weights_path is not None:
            path = Path(weights_path)
            if not path.is_file():
                raise FileNotFoundError(f"ResNet-18 weights not found: {path}")
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        net.fc = nn.Identity()
        self.backbone = net
        self.fc = nn.Linear(512, latent_dim)
        self.latent_dim = int(latent_dim)
        self.input_size = input_size
        self.register_buffer("mean", torch.tensor(self.MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(self.STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` RGB in [0, 1] -> ``(B, latent_dim)`` latent vectors."""
        x = _checked_and_resized(images, self.input_size)
        return self.fc(self.backbone((x - self.mean) / self.std))
