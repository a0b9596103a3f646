"""One training loop for every single-view model (chapter 05), with safe checkpoints.

:func:`train` fits a :class:`~course_utils.models.SingleViewModel` of any kind — voxels,
points, mesh or implicit — because the model computes its own loss
(:meth:`SingleViewModel.loss`). What the loop adds:

* **repeatable runs**: the model is initialised after ``seed_everything(seed)``; every
  epoch reseeds its shuffling and its random choices (point subsets, query points,
  surface samples) from ``(seed, epoch)``, so an interrupted run that is resumed at an
  epoch boundary gives the same model as an uninterrupted one;
* **AdamW** with an optional **cosine** learning-rate schedule (``schedule="cosine"``)
  that decays to ``lr * final_lr_fraction`` over the run — over the epochs, or over the
  time budget when ``minutes`` is given, whichever ends first;
* a **time budget** (``minutes``): training stops after that many minutes (the last epoch
  may be partial; it is validated and saved like the others);
* ``tqdm.auto`` **progress bars** with the running loss, and train/val **loss curves**
  in ``history`` (:func:`plot_curves` draws them);
* **atomic checkpoints** (``last.pt`` after every epoch): written to a temporary file in
  the same folder, then moved over the old one with ``os.replace`` — a crash mid-write
  leaves the previous checkpoint intact, never half a file. ``resume=True`` continues
  from it.

Checkpoint format (a plain dict, saved with ``torch.save`` and read back with
``torch.load(weights_only=True)``, which refuses anything but tensors and plain Python
containers — loading a checkpoint cannot run code)::

    {"format": "learning3d/single-view", "version": 1,
     "model": state_dict, "optimizer": state_dict,
     "epoch": completed epochs, "step": optimiser steps, "elapsed": seconds trained,
     "history": {"epoch": [...], "train_loss": [...], "val_loss": [...], "lr": [...],
                 "seconds": [...], "parts": {"chamfer": [...], ...}},
     "config": TrainConfig.to_dict(),   # includes the ModelConfig to rebuild the model
     "stopped": "finished" | "time budget" | "running"}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from course_utils.atomic import atomic_write
from course_utils.config import budget_clock, get_device, seed_everything
from course_utils.models.single_view import ModelConfig, SingleViewModel, build_model

__all__ = [
    "CheckpointError",
    "TrainConfig",
    "TrainResult",
    "train",
    "save_checkpoint",
    "load_checkpoint",
    "load_model",
    "plot_curves",
    "move_batch",
    "make_dataset",
    "InMemoryShapes",
    "CHECKPOINT_NAME",
]

CHECKPOINT_FORMAT = "learning3d/single-view"
CHECKPOINT_VERSION = 1
#: File name of the checkpoint written after every epoch in the output folder.
CHECKPOINT_NAME = "last.pt"
#: Batch entries the losses use (moved to the device); the rest stays on the CPU.
_TENSOR_KEYS = ("image", "voxels", "points", "normals", "mask", "category", "depth", "R",
                "fixed_depth", "novel_depth")  # chapter 08's depth and R; chapter 07's targets


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (corrupted, truncated, or of another kind)."""


@dataclass
class TrainConfig:
    """Settings of a training run; stored in the checkpoint.

    Attributes:
        model: the model to build (decoder, latent size, loss weights ...).
        epochs: passes over the training set (an upper bound when ``minutes`` is set).
        batch_size: shapes per step.
        lr: AdamW's learning rate (the peak of the schedule).
        weight_decay: AdamW's decoupled weight decay.
        schedule: ``"cosine"`` (decay to ``lr * final_lr_fraction``) or ``"constant"``.
        final_lr_fraction: where the cosine schedule ends.
        minutes: time budget; None trains all ``epochs``.
        clock: what the budget counts: ``"wall"`` (seconds on the wall clock) or ``"cpu"``
            (this process's CPU seconds, all threads summed: on a machine shared with other
            jobs this is what the run would take alone, so budgets and timings compare).
        seed: seeds the initialisation, the shuffling and the losses' random choices.
        grad_clip: clip the gradient norm to this value (None: no clipping).
        device: ``"cpu"``, ``"cuda"`` ...; None picks the fastest
            (:func:`course_utils.get_device`).
        preload: load the tensors training needs into memory once
            (:class:`InMemoryShapes`) instead of reading every item from disk every epoch.
        data: a description of the dataset (for :mod:`course_utils.evaluation` and the
            CLI to rebuild it); not used by :func:`train` itself.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    final_lr_fraction: float = 0.05
    minutes: float | None = None
    clock: str = "wall"
    seed: int = 0
    grad_clip: float | None = 5.0
    device: str | None = None
    preload: bool = True
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for ``torch.save`` with ``weights_only`` loading, and JSON)."""
        out = asdict(self)
        out["model"] = self.model.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        data = dict(data)
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown training settings: {sorted(unknown)}")
        model = ModelConfig.from_dict(data.pop("model", {}) or {})
        return cls(model=model, **data)


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained model (in eval mode), its loss history, the
    checkpoint written (None without ``out_dir``) and why it stopped."""

    model: SingleViewModel
    history: dict[str, Any]
    checkpoint: Path | None
    stopped: str


# ------------------------------------------------------------------ checkpoints
def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` with ``torch.save`` atomically: a temporary file, then ``os.replace``.

    The temporary file lives in the same folder (``os.replace`` is only atomic within
    one file system), is flushed to disk, and replaces ``path`` in one step; whoever
    reads ``path`` sees the old checkpoint or the new one, never a partial file.
    """
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        torch.save(state, handle)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`train` (``torch.load(weights_only=True)``).

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is not a readable course checkpoint (truncated,
            corrupted, or something else), with a one-line explanation.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many kinds here
        reason = (
            str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        )
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is truncated, corrupted or not a "
            f"course checkpoint ({reason}). Delete it and train again."
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a single-view checkpoint of this course (no "
            f"format={CHECKPOINT_FORMAT!r} entry)"
        )
    if state.get("version", 0) > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer version of the course (checkpoint version "
            f"{state['version']}); update the course package"
        )
    missing = {"model", "optimizer", "epoch", "history", "config"} - set(state)
    if missing:
        raise CheckpointError(f"{path} lacks {sorted(missing)}; it is incomplete")
    if not isinstance(state["config"], dict) or not isinstance(
        state["config"].get("data") or {}, dict
    ):
        raise CheckpointError(
            f"{path}: its 'config' is not a mapping of the run's settings (found "
            f"{type(state['config']).__name__}); it was not written by `train`"
        )
    return state


def load_model(
    path: str | Path, device: str | torch.device | None = None
) -> tuple[SingleViewModel, dict[str, Any]]:
    """Rebuild the model of a checkpoint and load its weights (eval mode).

    Returns:
        ``(model, checkpoint)``: the model on ``device`` (default: the checkpoint's
        training device if available, else the fastest) and the checkpoint dict.
    """
    state = load_checkpoint(path)
    config = TrainConfig.from_dict(state["config"])
    model = build_model(config.model)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as error:
        raise CheckpointError(
            f"the weights in {path} do not fit the model its config describes: "
            f"{str(error).splitlines()[0]}"
        ) from None
    model.to(get_device(str(device)) if device is not None else get_device())
    model.eval()
    return model, state


# ------------------------------------------------------------------ the loop
def move_batch(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The batch with its tensors used by the losses on ``device`` (lists stay as they are)."""
    return {
        key: value.to(device, non_blocking=True)
        if key in _TENSOR_KEYS and torch.is_tensor(value)
        else value
        for key, value in batch.items()
    }


def make_dataset(data: dict[str, Any], split: str, progress: bool = True) -> Dataset:
    """The dataset a run's ``TrainConfig.data`` describes, for one split.

    Args:
        data: ``{"dataset": "course" | "toy", "num_shapes": N, "image_size": S or None,
            "seed": s, "views_per_shape": V, "train_views_per_shape": V_train,
            "points_per_shape": P or None}``. ``"course"`` is
            ``course_utils.datasets.ShapeDataset`` (generated and cached on first use;
            ``num_shapes`` counts all splits, 80/10/10 %); ``"toy"`` is the synthetic
            :class:`~course_utils.models.ToyShapes` (for tests: same split sizes). The
            ``"train"`` split has ``V_train`` views of each shape (default ``V``, itself 1
            by default), the held-out splits ``V``: more views of the training shapes are
            more distinct images to learn from, while the held-out views stay the same
            from run to run (view ``v`` of a shape is the same whatever ``V``).
        split: ``"train"``, ``"val"`` or ``"test"``.
        progress: show the generator's progress bar.
    """
    source = data.get("dataset", "course")
    num_shapes = int(data.get("num_shapes", 2000))
    seed = int(data.get("seed", 0))
    if source == "toy":
        from course_utils.models.toy import ToyShapes

        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be train, val or test, got {split!r}")
        held_out = max(2, round(0.1 * num_shapes))
        size = {"train": max(num_shapes - 2 * held_out, 1), "val": held_out, "test": held_out}
        return ToyShapes(
            size[split], image_size=int(data.get("image_size") or 32),
            seed=seed * 10 + ("train", "val", "test").index(split),
        )  # fmt: skip
    if source != "course":
        raise ValueError(f'unknown dataset {source!r}; use "course" or "toy"')
    from course_utils.datasets import ShapeDataset

    if data.get("targets") == "depth":  # chapter 08: the same views with rendered depth
        from course_utils.depth import DepthViews

        return DepthViews(make_dataset({**data, "targets": None}, split, progress), progress)
    views = int(data.get("views_per_shape", 1))
    if split == "train":
        views = int(data.get("train_views_per_shape", views))
    return ShapeDataset(
        split=split, num_shapes=num_shapes, image_size=data.get("image_size"), seed=seed,
        views_per_shape=views,
        points_per_shape=data.get("points_per_shape"), progress=progress,
    )  # fmt: skip


class InMemoryShapes:
    """The tensors that training needs, read once from a dataset and kept in memory.

    Reading 1,600 items from the disk cache takes seconds — every epoch. This keeps just
    ``image`` (as uint8: the renders are 8-bit anyway, 4x less memory), ``voxels`` (as
    bool), ``points`` and ``category`` of every item (for chapter 08's depth items:
    ``depth``, ``mask`` and the cameras' rotations ``R`` instead of voxels and points),
    stacked (about 150 MB for 1,600 shapes at 128²), and cuts batches from them by index.

    Args:
        dataset: items in the course format.
        collate_fn: how to batch items while reading (default: ``collate_shapes``).
        progress: show a progress bar while reading.
    """

    KEYS = ("image", "voxels", "points", "category")
    #: Kept (as float16: depths to ~1e-3) when the dataset has them (chapter 07's targets).
    OPTIONAL_KEYS = ("fixed_depth", "novel_depth")

    def __init__(
        self,
        dataset: Dataset,
        collate_fn: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
        progress: bool = True,
        desc: str = "loading shapes into memory",
    ) -> None:
        from tqdm.auto import tqdm

        loader = DataLoader(
            dataset,
            batch_size=64,
            shuffle=False,
            collate_fn=collate_fn or _default_collate(dataset),
        )
        parts: dict[str, list[torch.Tensor]] = {}
        for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
            parts.setdefault("image", []).append(
                (batch["image"].clamp(0, 1) * 255).round().to(torch.uint8)
            )
            for key in ("voxels", "mask"):  # kept as bool
                if key in batch and (key != "mask" or "depth" in batch):
                    parts.setdefault(key, []).append(batch[key] > 0.5)
            for key in ("points", "depth"):  # chapter 08's depth items have no points
                if key in batch:
                    parts.setdefault(key, []).append(batch[key].float())
            if "depth" in batch:  # the camera's rotation: how steeply the picture looks down
                parts.setdefault("R", []).append(batch["R"].float())
            parts.setdefault("category", []).append(batch["category"])
            for key in self.OPTIONAL_KEYS:
                if key in batch:
                    parts.setdefault(key, []).append(batch[key].half())
        self.tensors = {key: torch.cat(values) for key, values in parts.items()}

    def __len__(self) -> int:
        return len(self.tensors["image"])

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        """The items at ``index`` as a batch (float images in [0, 1], float voxels)."""
        out = {key: value[index] for key, value in self.tensors.items()}
        out["image"] = out["image"].float() / 255.0
        for key in ("voxels", "mask", *self.OPTIONAL_KEYS):
            if key in out:
                out[key] = out[key].float()
        return out

    def batches(
        self, batch_size: int, generator: torch.Generator | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        """Yield all items in batches: shuffled with ``generator`` (the order a shuffling
        ``DataLoader`` with that generator would use), in order without one."""
        n = len(self)
        order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
        for index in order.split(batch_size):
            yield self.batch(index)


def _default_collate(dataset: Any) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    collate = getattr(dataset, "collate_fn", None)
    if collate is not None:
        return collate
    try:
        from course_utils.datasets import collate_shapes

        return collate_shapes
    except ImportError:
        from course_utils.models.toy import collate_items

        return collate_items


def _lr_factor(config: TrainConfig, progress: float) -> float:
    """Multiplier of the learning rate at ``progress`` in [0, 1] of the run."""
    if config.schedule == "constant":
        return 1.0
    low = config.final_lr_fraction
    return low + (1 - low) * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7919 + 17) % (2**63 - 1)


def _evaluate_loss(model: SingleViewModel, loader: Any, device: torch.device, seed: int) -> float:
    """Mean loss over a data set, with fixed random choices (comparable across epochs)."""
    model.eval()
    total, count = 0.0, 0
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        for batch in loader:
            batch = move_batch(batch, device)
            loss, _ = model.loss(batch, generator=generator)
            n = len(batch["image"])
            total += float(loss) * n
            count += n
    return total / max(count, 1)


def _empty_history() -> dict[str, Any]:
    return {"epoch": [], "train_loss": [], "val_loss": [], "lr": [], "seconds": [], "parts": {}}


def train(
    config: TrainConfig,
    train_data: Dataset,
    val_data: Dataset | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    collate_fn: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
    on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train a single-view model; checkpoint after every epoch; optionally resume.

    Args:
        config: the run's settings (model, epochs, optimiser, time budget, seed).
        train_data: a dataset of course items (``ShapeDataset`` or the like).
        val_data: a validation set; its loss is recorded after every epoch.
        out_dir: folder of the checkpoint ``last.pt`` (None: no checkpoint).
        resume: continue from ``out_dir/last.pt`` if it exists (its settings must match
            ``config``'s model; the epochs, time budget and learning rate may change).
        progress: show ``tqdm`` progress bars.
        collate_fn: batches items (default: the dataset's ``collate_fn``, else
            ``course_utils.datasets.collate_shapes``).
        on_epoch_end: called as ``on_epoch_end(epoch, history)`` after each epoch's
            checkpoint (e.g. to plot live; raising in it stops training, the checkpoint
            of that epoch is already written).

    Returns:
        A :class:`TrainResult` (the model in eval mode, its history, the checkpoint path).

    Raises:
        CheckpointError: ``resume=True`` and the checkpoint is unreadable or belongs to a
            different model.
    """
    from tqdm.auto import tqdm

    if len(train_data) == 0:  # type: ignore[arg-type]
        raise ValueError("the training set is empty")
    if config.schedule not in ("cosine", "constant"):
        raise ValueError(f'schedule must be "cosine" or "constant", got {config.schedule!r}')
    device = get_device(config.device)
    seed_everything(config.seed)
    model = build_model(config.model).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    history = _empty_history()
    start_epoch, step, elapsed = 0, 0, 0.0
    checkpoint = Path(out_dir) / CHECKPOINT_NAME if out_dir is not None else None

    if resume and checkpoint is not None and checkpoint.exists():
        state = load_checkpoint(checkpoint, map_location=device)
        saved = TrainConfig.from_dict(state["config"])
        if saved.model.to_dict() != config.model.to_dict():
            raise CheckpointError(
                f"{checkpoint} holds a {saved.model.decoder!r} model with other settings "
                f"than the one asked for ({config.model.decoder!r}); use another --out "
                "folder or drop --resume"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, step = int(state["epoch"]), int(state.get("step", 0))
        elapsed = float(state.get("elapsed", 0.0))
        history = state["history"]
        if progress:
            print(f"resuming from {checkpoint}: {start_epoch} epochs done")
    elif resume and progress:
        print(f"nothing to resume in {out_dir}: starting a new run")

    budget = config.minutes * 60.0 if config.minutes is not None else None
    now = budget_clock(config.clock)
    if start_epoch >= config.epochs or (budget is not None and elapsed >= budget):
        # Nothing left to do (e.g. a finished run of the CLI, resumed by a notebook): skip
        # loading the data.
        if progress:
            print(f"{checkpoint} is already trained ({start_epoch} epochs, {elapsed / 60:.1f} min)")
        model.eval()
        done = "finished" if start_epoch >= config.epochs else "time budget"
        return TrainResult(model=model, history=history, checkpoint=checkpoint, stopped=done)

    prepare = getattr(getattr(model, "decoder", None), "prepare_data", None)
    if prepare is not None:  # decoders whose loss needs extra targets (chapter 07's depths)
        train_data = prepare(train_data, progress=progress)
        if val_data is not None and len(val_data) > 0:  # type: ignore[arg-type]
            val_data = prepare(val_data, progress=progress)
    collate = collate_fn or _default_collate(train_data)
    num_batches = math.ceil(len(train_data) / config.batch_size)  # type: ignore[arg-type]
    total_steps = max(config.epochs * num_batches, 1)
    val_loader: Callable[[], Iterable[dict[str, Any]]] | None = None
    if val_data is not None and len(val_data) > 0:  # type: ignore[arg-type]
        if config.preload:
            val_memory = InMemoryShapes(val_data, collate, progress, "loading the val set")

            def val_loader() -> Iterable[dict[str, Any]]:
                return val_memory.batches(config.batch_size)
        else:
            val_batches = DataLoader(
                val_data, batch_size=config.batch_size, shuffle=False, collate_fn=collate
            )

            def val_loader() -> Iterable[dict[str, Any]]:
                return val_batches

    memory = (
        InMemoryShapes(train_data, collate, progress, "loading the train set")
        if config.preload
        else None
    )

    stopped = "finished"
    epochs_bar = tqdm(
        range(start_epoch, config.epochs), desc=f"train {config.model.decoder}",
        initial=start_epoch, total=config.epochs, disable=not progress,
    )  # fmt: skip
    for epoch in epochs_bar:
        if budget is not None and elapsed >= budget:
            stopped = "time budget"
            break
        epoch_seed = _epoch_seed(config.seed, epoch)
        torch.manual_seed(epoch_seed)  # the losses' own sampling (e.g. mesh surface points)
        shuffle = torch.Generator().manual_seed(epoch_seed)
        generator = torch.Generator().manual_seed(epoch_seed + 1)
        loader: Any = (
            memory.batches(config.batch_size, generator=shuffle)
            if memory is not None
            else DataLoader(
                train_data, batch_size=config.batch_size, shuffle=True, generator=shuffle,
                collate_fn=collate, drop_last=False,
            )
        )  # fmt: skip
        model.train()
        started = now()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        total, count = 0.0, 0
        lr = config.lr
        batches = tqdm(
            loader, desc=f"epoch {epoch + 1}", total=num_batches, leave=False, disable=not progress
        )
        for batch in batches:
            progress_frac = step / total_steps
            if budget is not None:
                progress_frac = max(progress_frac, (elapsed + now() - started) / budget)
            lr = config.lr * _lr_factor(config, progress_frac)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = move_batch(batch, device)
            model.progress = progress_frac  # staged losses (e.g. chapter 07's novel views)
            loss, parts = model.loss(batch, generator=generator)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {float(loss)} at epoch {epoch + 1}, step {step}: lower "
                    "the learning rate (--lr) or check the data"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            step += 1
            n = len(batch["image"])
            total += float(loss.detach()) * n
            count += n
            for name, value in parts.items():
                sums[name] = sums.get(name, 0.0) + value * n
                counts[name] = counts.get(name, 0) + n
            batches.set_postfix(loss=f"{total / count:.4g}")
            if budget is not None and elapsed + now() - started >= budget:
                stopped = "time budget"
                break
        elapsed += now() - started
        val_loss = (
            _evaluate_loss(model, val_loader(), device, config.seed + 4242)
            if val_loader is not None
            else float("nan")
        )
        history["epoch"].append(epoch + 1)
        history["train_loss"].append(total / max(count, 1))
        history["val_loss"].append(val_loss)
        history["lr"].append(lr)
        history["seconds"].append(elapsed)
        # a term that starts later in training (chapter 07's novel views) is NaN before
        for name in {*history["parts"], *sums}:
            values = history["parts"].setdefault(name, [math.nan] * (len(history["epoch"]) - 1))
            values.append(sums[name] / counts[name] if name in sums else math.nan)
        epochs_bar.set_postfix(train=f"{total / max(count, 1):.4g}", val=f"{val_loss:.4g}")
        last_epoch = epoch + 1 == config.epochs
        if checkpoint is not None:
            save_checkpoint(
                {
                    "format": CHECKPOINT_FORMAT,
                    "version": CHECKPOINT_VERSION,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "epoch": epoch + 1,
                    "step": step,
                    "elapsed": elapsed,
                    "history": history,
                    "config": config.to_dict(),
                    "stopped": stopped if (stopped != "finished" or last_epoch) else "running",
                },
                checkpoint,
            )
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, history)
        if stopped != "finished":
            break
    epochs_bar.close()
    model.eval()
    model.progress = 1.0  # trained: every staged loss term is on again, as documented
    return TrainResult(model=model, history=history, checkpoint=checkpoint, stopped=stopped)


# ------------------------------------------------------------------ plots
def plot_curves(
    history: dict[str, Any] | Sequence[tuple[str, dict[str, Any]]],
    ax: Any = None,
    log: bool = True,
    title: str | None = None,
) -> Any:
    """Train (solid) and validation (dashed) loss per epoch; returns the figure.

    Args:
        history: a ``history`` dict from :func:`train` (or a checkpoint), or a list of
            ``(label, history)`` pairs to compare several runs on one plot.
        ax: a matplotlib axis to draw on (default: a new figure).
        log: logarithmic loss axis (losses often fall by orders of magnitude).
        title: the axis title.
    """
    import matplotlib.pyplot as plt

    runs = [("", history)] if isinstance(history, dict) else list(history)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    for i, (label, run) in enumerate(runs):
        colour = f"C{i}"
        prefix = f"{label} " if label else ""
        ax.plot(run["epoch"], run["train_loss"], "-o", color=colour, ms=3, label=f"{prefix}train")
        val = [v for v in run["val_loss"] if v == v]  # drop NaN (no validation set)
        if val:
            ax.plot(run["epoch"], run["val_loss"], "--", color=colour, label=f"{prefix}val")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
