"""Pictures and computed findings for chapter 05 (single view to 3D).

The chapter trains five decoders and compares them with two baselines. This module keeps
the plumbing out of the notebook's cells:

- :func:`gt_mesh`, :func:`look_prediction`, :func:`compare` — input | truth | predictions
  grids of test shapes;
- :func:`deform_sphere` — the course's version of exercise 5.2 (the mesh decoder's offsets);
- :func:`results_heading` and :func:`findings` — the results table's caption (which run it
  is) and the sentences that read it, *computed* from the evaluation so that the prose can
  never contradict the numbers above it;
- :func:`overfitting` — how far each model's final training loss is below its validation loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from course_utils import evaluation, rendering
from course_utils.p3d import structures


def gt_mesh(item: Mapping[str, torch.Tensor]) -> Any:
    """The ground-truth ``Meshes`` of a dataset item (its ``verts`` and ``faces``)."""
    return structures.Meshes(verts=[item["verts"].float()], faces=[item["faces"]])


def look_prediction(
    prediction: Any, look: Callable[[Any], torch.Tensor], size: int
) -> torch.Tensor:
    """An (S, S, 3) render of a ``ShapePrediction``: its mesh, else its points; white if empty."""
    if prediction.mesh is not None:
        return look(prediction.mesh)
    if len(prediction.points) == 0:
        return torch.ones(size, size, 3)
    return look(structures.Pointclouds(points=[prediction.points.float()]))


def predict(model: Any, data: Any, indices: Sequence[int]) -> list:
    """``ShapePrediction`` of each of ``data``'s items ``indices`` (points, grid or None, mesh)."""
    images = torch.stack([data[i]["image"] for i in indices])
    return evaluation.predictions_from_model(model, images)


def compare(
    models: Mapping[str, Any],
    data: Any,
    indices: Sequence[int],
    look: Callable[[Any], torch.Tensor],
    categories: Sequence[str],
    size: float = 2.2,
) -> Any:
    """Rows of input | ground truth | one prediction per model; returns the figure."""
    predictions = {name: predict(model, data, indices) for name, model in models.items()}
    pixels = int(look(gt_mesh(data[indices[0]])).shape[0])
    tiles, titles = [], []
    for row, index in enumerate(indices):
        item = data[index]
        tiles += [item["image"].permute(1, 2, 0), look(gt_mesh(item))]
        titles += [categories[int(item["category"])], "ground truth"]
        for name in models:
            tiles.append(look_prediction(predictions[name][row], look, pixels))
            titles.append(name)
    return rendering.image_grid(tiles, titles=titles, cols=2 + len(models), size=size)


def deform_sphere(sphere_verts: torch.Tensor, raw: torch.Tensor, max_offset: float) -> torch.Tensor:
    """The course's exercise 5.2: (V, 3) sphere and (B, 3V) raw outputs -> (B, V, 3) vertices.

    ``v_i + max_offset * tanh(raw_i)``, as ``MeshDecoder`` computes it.
    """
    return sphere_verts[None] + max_offset * torch.tanh(raw.view(raw.shape[0], -1, 3))


def overfitting(histories: Mapping[str, Mapping[str, Sequence[float]]]) -> str:
    """One line per model: final validation loss / final training loss, and the epochs run."""
    lines = []
    for name, history in histories.items():
        train, val = history["train_loss"][-1], history["val_loss"][-1]
        lines.append(
            f"{name:12s} {len(history['epoch']):4d} epochs; final loss: train {train:.4f}, "
            f"validation {val:.4f} -> validation / train = {val / max(train, 1e-12):.1f}"
        )
    return "\n".join(lines)


def results_heading(fast: bool, shapes: int, minutes: float) -> str:
    """Markdown: which run the table below comes from."""
    if fast:
        return (
            f"**Fast mode** (`COURSE_FAST=1`): tiny decoders trained for two epochs on a "
            f"handful of shapes, scored on {shapes} test shapes. The numbers show that the code "
            f"runs; they say nothing about the methods. Run the chapter in full mode to compare."
        )
    return (
        f"**Full mode**: every network trained for {minutes:g} minutes (or loaded from its "
        f"checkpoint), scored on the {shapes} test shapes."
    )


def _f1(summary: Mapping[str, Any], tau: str) -> float:
    return 100 * summary["all"][f"f1@{tau}"]


def findings(summaries: Mapping[str, Mapping[str, Any]], networks: Sequence[str]) -> str:
    """Markdown bullets that read the results table, every number computed from ``summaries``.

    Args:
        summaries: ``{method: evaluation.summarize(...)}``, networks and baselines
            (``"mean shape"``, ``"retrieval (pixels)"``, ``"retrieval (latent ...)"``).
        networks: the names of the trained networks among them.
    """
    nets = [n for n in networks if n in summaries]
    baselines = [n for n in summaries if n not in nets]
    mean = summaries.get("mean shape")
    lines = []
    if mean is not None:
        beaten = [
            n for n in nets if all(_f1(summaries[n], t) > _f1(mean, t) for t in ("0.01", "0.05"))
        ]
        lines.append(
            f"- **Against the mean shape** ({_f1(mean, '0.05'):.1f} % F1@0.05): "
            f"{len(beaten)} of {len(nets)} networks beat it at both τ = 0.01 and 0.05"
            + (f" ({', '.join(beaten)})." if beaten else ".")
        )
    for tau in ("0.05", "0.01"):
        best = max(summaries, key=lambda n: _f1(summaries[n], tau))
        best_net = max(nets, key=lambda n: _f1(summaries[n], tau))
        lines.append(
            f"- **Best at τ = {tau}**: {best} ({_f1(summaries[best], tau):.1f} %); best network: "
            f"{best_net} ({_f1(summaries[best_net], tau):.1f} %)."
        )
    retrievals = [n for n in baselines if n.startswith("retrieval")]
    if retrievals and nets:
        best_r = max(retrievals, key=lambda n: _f1(summaries[n], "0.05"))
        for tau in ("0.05", "0.01"):
            above = [n for n in nets if _f1(summaries[n], tau) > _f1(summaries[best_r], tau)]
            lines.append(
                f"- **Best baseline by retrieval**, {best_r}, at τ = {tau}: "
                f"{_f1(summaries[best_r], tau):.1f} %; "
                f"networks above it: {', '.join(above) if above else 'none'}."
            )
    if nets:
        weakest = min(nets, key=lambda n: _f1(summaries[n], "0.05"))
        lines.append(
            f"- **Weakest network** at τ = 0.05: {weakest} "
            f"({_f1(summaries[weakest], '0.05'):.1f} %)."
        )
        categories = summaries[nets[0]]["categories"]
        if categories:
            mean_f1 = {
                c: sum(100 * summaries[n]["categories"][c]["f1@0.05"] for n in nets) / len(nets)
                for c in categories
            }
            order = sorted(mean_f1, key=mean_f1.get)
            lines.append(
                f"- **Per category** (F1@0.05, mean over the networks): hardest {order[0]} "
                f"({mean_f1[order[0]]:.1f} %), easiest {order[-1]} ({mean_f1[order[-1]]:.1f} %)."
            )
    return "\n".join(lines)


def decode_meshes(model: Any, latents: torch.Tensor, deform: Callable[..., torch.Tensor]) -> Any:
    """(B, L) latents -> a ``Meshes`` of B meshes from a mesh model, with ``deform`` (exercise 5.2).

    ``deform(sphere_verts (V, 3), raw (B, 3V), max_offset)`` turns the decoder MLP's raw
    outputs into vertices — the learner's ``deform_sphere`` or :func:`deform_sphere`.
    """
    decoder = model.decoder
    verts = deform(decoder.sphere_verts, decoder.net(latents), decoder.max_offset)  # (B, V, 3)
    return decoder.template(len(latents)).update_padded(verts)


def latent_slider(
    decode: Callable[[torch.Tensor], Any],
    z0: torch.Tensor,
    z1: torch.Tensor,
    look: Callable[[Any], torch.Tensor],
) -> Any:
    """A slider over t in [0, 1] that shows ``decode((1 - t) z0 + t z1)``, re-rendered live.

    Args:
        decode: (1, L) latents -> a ``Meshes`` of one mesh.
        z0, z1: (L,) latents of the two ends.
        look: ``Meshes`` -> (S, S, 3) render.

    Returns:
        An ipywidgets ``VBox`` (display it), or None where ipywidgets is missing (the static
        strip of the notebook shows the same walk).
    """
    try:
        import ipywidgets as widgets
    except ImportError:
        return None
    slider = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="t")
    image = widgets.Image(format="png")

    def update(_change: Any = None) -> None:
        with torch.no_grad():
            mesh = decode(((1 - slider.value) * z0 + slider.value * z1)[None])
        image.value = rendering._png_bytes(look(mesh))

    slider.observe(update, names="value")
    update()
    return widgets.VBox([image, slider])


def your_decoder_figure(
    losses: Sequence[float],
    batch: Mapping[str, Any],
    grids: torch.Tensor,
    look: Callable[[Any], torch.Tensor],
    cubes: Callable[[torch.Tensor], Any],
) -> Any:
    """The loss of a short fit of the learner's decoder, and its grids next to the truth.

    Args:
        losses: the loss at every step.
        batch: the training batch (``image``, ``voxels``); the first ``len(grids)`` items are shown.
        grids: (n, R, R, R) predicted occupancy probabilities.
        look, cubes: render a ``Meshes``; turn an (R, R, R) grid into cubes.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(12, 3.2))
    ax = fig.add_subplot(1, 1 + 2 * len(grids), 1)
    ax.semilogy(losses)
    ax.set(xlabel="step", ylabel="weighted BCE", title="your decoder, training")
    for k, grid in enumerate(grids):
        for j, (occupied, title) in enumerate(
            [(batch["voxels"][k] > 0, "truth"), (grid >= 0.5, "yours")]
        ):
            panel = fig.add_subplot(1, 1 + 2 * len(grids), 2 + 2 * k + j)
            empty = not bool(occupied.any())  # nothing to render: a white picture
            picture = torch.ones(8, 8, 3) if empty else look(cubes(occupied)).clamp(0, 1).cpu()
            panel.imshow(picture.numpy())
            panel.set_title(f"shape {k}: {title}" + (" (empty)" if empty else ""))
            panel.set_axis_off()
    fig.tight_layout()
    return fig
