"""The single-view model: image -> encoder -> latent -> decoder -> 3D shape.

:class:`SingleViewModel` joins an image encoder (:mod:`.encoders`) and a decoder
(:mod:`.decoders`); its ``kind`` (``"voxels"``, ``"points"``, ``"mesh"`` or
``"implicit"``) is the decoder's. :meth:`SingleViewModel.loss` computes the training loss
that fits that kind (:mod:`.losses`) from a batch of the course dataset, so one training
loop serves every decoder.

:func:`build_model` makes a model from a :class:`ModelConfig` — plain numbers and strings,
which is what a checkpoint stores to rebuild the model later::

    model = build_model(ModelConfig(decoder="points"))
    points = model(images)          # (B, 3, S, S) -> (B, 2048, 3)
    loss, parts = model.loss(batch)  # a batch from collate_shapes
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
from torch import nn

import course_utils.models.losses as losses  # the submodule, not the package: no circle
from course_utils.models.decoders import (
    ImplicitDecoder,
    MeshDecoder,
    PointDecoder,
    VoxelConvDecoder,
    VoxelMLPDecoder,
)
from course_utils.models.encoders import ConvEncoder, ResNet18Encoder
from course_utils.models.projection_decoder import ProjectionDecoder, projection_loss

__all__ = ["DECODERS", "KINDS", "LossConfig", "ModelConfig", "SingleViewModel", "build_model"]

#: Decoder names (as on the command line) and their classes.
DECODERS: dict[str, type[nn.Module]] = {
    "voxels-mlp": VoxelMLPDecoder,
    "voxels-conv": VoxelConvDecoder,
    "points": PointDecoder,
    "mesh": MeshDecoder,
    "implicit": ImplicitDecoder,
    "projections": ProjectionDecoder,  # chapter 07
}
KINDS = ("voxels", "points", "mesh", "implicit", "projections")
ENCODERS = ("conv", "resnet18")


@dataclass
class LossConfig:
    """Weights and sample counts of the training losses (see :mod:`.losses`).

    Attributes:
        pos_weight: voxels: weight of the occupied voxels in the BCE.
        gt_points: points and mesh: ground-truth points per shape and step (a random
            subset of the dataset's surface points; fewer is faster).
        mesh_samples: mesh: points sampled on each predicted mesh per step.
        w_laplacian, w_edge, w_normal: mesh: regulariser weights (chamfer has weight 1).
        num_uniform, num_near, sigma: implicit: query points per shape uniform in the
            box and near the surface, and the noise of the near ones.
        novel_per_step, upsample, w_novel: projections (chapter 07): novel views
            pseudo-rendered per step, the pseudo-renderer's upsampling factor U, and the
            weight of the novel-view terms.
        novel_after: projections: the share of the training budget after which the
            novel-view terms join the fixed-view ones (the paper's two stages; 0: from
            the start). The fixed views teach the coarse shape fastest: with novel views
            from the first step the decoder learnt clearly more slowly
            (``benchmarks/README.md``).
    """

    pos_weight: float = 2.0
    gt_points: int = 2048
    mesh_samples: int = 2048
    w_laplacian: float = 0.1
    w_edge: float = 0.1
    w_normal: float = 0.01
    num_uniform: int = 512
    num_near: int = 512
    sigma: float = 0.02
    novel_per_step: int = 2
    upsample: int = 2
    w_novel: float = 1.0
    novel_after: float = 0.7


@dataclass
class ModelConfig:
    """Everything :func:`build_model` needs; stored in checkpoints as a plain dict.

    Attributes:
        decoder: one of :data:`DECODERS` (``"voxels-mlp"``, ``"voxels-conv"``,
            ``"points"``, ``"mesh"``, ``"implicit"``).
        latent_dim: size of the latent vector between encoder and decoder.
        encoder: ``"conv"`` (:class:`~.encoders.ConvEncoder`, trained from scratch) or
            ``"resnet18"`` (needs torchvision).
        input_size: the encoder resizes images to this size (64 keeps a CPU fast).
        weights_path: ResNet-18 weights file you already have (never downloaded).
        encoder_options: extra keyword arguments of the encoder class (e.g.
            ``channels`` or ``norm`` of :class:`~.encoders.ConvEncoder`).
        decoder_options: keyword arguments for the decoder class (``num_points``,
            ``level``, ``hidden`` ...).
        loss: the loss weights.
    """

    decoder: str = "points"
    latent_dim: int = 256
    encoder: str = "conv"
    input_size: int | None = 64
    weights_path: str | None = None
    encoder_options: dict[str, Any] = field(default_factory=dict)
    decoder_options: dict[str, Any] = field(default_factory=dict)
    loss: LossConfig = field(default_factory=LossConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (numbers, strings, lists, dicts): safe for ``torch.save``/JSON."""
        out = asdict(self)
        for key in ("encoder_options", "decoder_options"):
            out[key] = {k: list(v) if isinstance(v, tuple) else v for k, v in out[key].items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error (a clear one)."""
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model settings: {sorted(unknown)}")
        loss = data.pop("loss", None) or {}
        if not isinstance(loss, LossConfig):
            unknown = set(loss) - {f.name for f in fields(LossConfig)}
            if unknown:
                raise ValueError(f"unknown loss settings: {sorted(unknown)}")
            loss = LossConfig(**loss)
        return cls(**data, loss=loss)


def build_model(
    config: ModelConfig | dict[str, Any] | None = None, **overrides: Any
) -> SingleViewModel:
    """Make a :class:`SingleViewModel` from a config (or keyword arguments).

    Example:
        >>> model = build_model(decoder="points", latent_dim=32,
        ...                     decoder_options={"num_points": 100, "hidden": [64]})
        >>> model.kind, model(torch.rand(2, 3, 64, 64)).shape
        ('points', torch.Size([2, 100, 3]))
    """
    if config is None:
        config = ModelConfig()
    elif isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    if overrides:
        data = config.to_dict()
        data.update(overrides)
        config = ModelConfig.from_dict(data)
    if config.decoder == "depth":  # chapter 08: a per-pixel depth network, not a 3D decoder
        from course_utils.models.depth import DepthNet

        net = DepthNet(
            input_size=config.input_size, **config.encoder_options, **config.decoder_options
        )
        net.config = config
        return net  # type: ignore[return-value]
    if config.decoder not in DECODERS:
        raise ValueError(f"unknown decoder {config.decoder!r}; choose one of {', '.join(DECODERS)}")
    if config.encoder == "conv":
        encoder: nn.Module = ConvEncoder(
            config.latent_dim, input_size=config.input_size, **config.encoder_options
        )
    elif config.encoder == "resnet18":
        encoder = ResNet18Encoder(
            config.latent_dim,
            weights_path=config.weights_path,
            input_size=config.input_size,
            **config.encoder_options,
        )
    else:
        raise ValueError(f"unknown encoder {config.encoder!r}; choose one of {ENCODERS}")
    decoder = DECODERS[config.decoder](config.latent_dim, **config.decoder_options)
    model = SingleViewModel(encoder, decoder, loss_config=config.loss)
    model.config = config
    return model


class SingleViewModel(nn.Module):
    """``encoder`` then ``decoder``: ``(B, 3, S, S)`` images -> a batch of 3D shapes.

    ``forward(images)`` returns, by ``kind``:

    * ``"voxels"``: ``(B, 32, 32, 32)`` occupancy logits, axes (z, y, x);
    * ``"points"``: ``(B, N, 3)`` points;
    * ``"mesh"``: a ``Meshes`` batch of B meshes;
    * ``"implicit"``: ``(B, 32, 32, 32)`` logits at the voxel centres (the implicit
      function sampled like a voxel grid), or ``(B, Q)`` logits at ``queries`` when
      ``forward(images, queries)`` is given ``(B, Q, 3)`` points.

    Args:
        encoder: images -> ``(B, latent_dim)``.
        decoder: latents -> shapes, with a ``kind`` attribute.
        loss_config: weights used by :meth:`loss`.

    Attributes:
        progress: the share of the training budget done (``train`` sets it before every
            step; 1 outside training): chapter 07's novel-view terms start at
            ``loss_config.novel_after``.
    """

    def __init__(
        self, encoder: nn.Module, decoder: nn.Module, loss_config: LossConfig | None = None
    ) -> None:
        super().__init__()
        kind = getattr(decoder, "kind", None)
        if kind not in KINDS:
            raise ValueError(f"decoder.kind must be one of {KINDS}, got {kind!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.loss_config = loss_config or LossConfig()
        self.config: ModelConfig | None = None
        #: share of the training budget done, in [0, 1]; :func:`course_utils.training.train`
        #: sets it before every step, for losses that change during training
        self.progress = 1.0

    @property
    def kind(self) -> str:
        """``"voxels"``, ``"points"``, ``"mesh"`` or ``"implicit"`` (the decoder's)."""
        return str(self.decoder.kind)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, S, S)`` -> ``(B, latent_dim)``."""
        return self.encoder(images)

    def decode(self, latent: torch.Tensor, queries: torch.Tensor | None = None) -> Any:
        """Latents -> the prediction (see the class docstring)."""
        if self.kind == "implicit":
            if queries is None:
                return self.decoder.grid_logits(latent, resolution=32)
            return self.decoder(latent, queries)
        if queries is not None:
            raise ValueError(f"queries are only for implicit decoders, not {self.kind!r}")
        return self.decoder(latent)

    def forward(self, images: torch.Tensor, queries: torch.Tensor | None = None) -> Any:
        return self.decode(self.encode(images), queries)

    def loss(
        self, batch: dict[str, Any], generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss of a batch, for this model's kind.

        Args:
            batch: ``collate_shapes`` output on the model's device; uses ``"image"``
                ``(B, 3, S, S)``, ``"voxels"`` ``(B, 32, 32, 32)`` (voxels, implicit) and
                ``"points"`` ``(B, P, 3)`` (points, mesh, implicit).
            generator: CPU generator for the random choices (point subsets, queries),
                for repeatable runs; None uses the global generator.

        Returns:
            ``(loss, parts)``: the scalar to minimise and its terms as floats (for logs).
        """
        cfg = self.loss_config
        images = batch["image"]
        latent = self.encode(images)
        if self.kind == "projections":
            total, parts = projection_loss(
                self.decoder, self.decoder(latent), batch["fixed_depth"], batch["novel_depth"],
                novel_per_step=cfg.novel_per_step, upsample=cfg.upsample,
                w_novel=cfg.w_novel if self.progress >= cfg.novel_after else 0.0,
                generator=generator,
            )  # fmt: skip
            return total, {name: float(v.detach()) for name, v in parts.items()}
        if self.kind == "voxels":
            value = losses.voxel_bce_loss(self.decoder(latent), batch["voxels"], cfg.pos_weight)
            return value, {"bce": float(value.detach())}
        gt = losses.subsample_points(batch["points"], cfg.gt_points, generator)
        if self.kind == "points":
            value = losses.point_chamfer_loss(self.decoder(latent), gt)
            return value, {"chamfer": float(value.detach())}
        if self.kind == "mesh":
            total, parts = losses.mesh_loss(
                self.decoder(latent), gt, num_samples=cfg.mesh_samples,
                w_laplacian=cfg.w_laplacian, w_edge=cfg.w_edge, w_normal=cfg.w_normal,
            )  # fmt: skip
            return total, {name: float(v.detach()) for name, v in parts.items()}
        queries = losses.sample_queries(
            batch["points"], cfg.num_uniform, cfg.num_near, cfg.sigma, generator=generator
        )
        labels = (losses.occupancy_at(batch["voxels"], queries) >= 0.5).float()
        value = losses.implicit_loss(self.decoder(latent, queries), labels)
        return value, {"bce": float(value.detach())}
