"""Shape grammars: how a chair, a table, a lamp, a mug and a bottle are assembled from primitives.

Each category is a small random program (a *grammar*): it draws the sizes of the parts and
a few discrete choices (four legs or a pedestal? arms? a handle?) from a NumPy random
generator and returns a list of :mod:`~course_utils.datasets.primitives`. The same
generator state always gives the same shape, so the dataset is reproducible from a seed.

Conventions (the canonical object frame, as in ShapeNet-style datasets):

* +Y is up and the object stands on ``y = 0`` (it is centred and rescaled later);
* the object's front faces +Z (a chair's seat opens towards +Z, its back is at -Z; a
  desk lamp's arm leans towards +Z; a mug's handle is on the +X side);
* units are roughly metres before normalisation, so proportions look familiar;
* parts that touch *overlap* a little (a leg reaches into the seat), so no face of one
  part lies exactly on a face of another: hidden faces are strictly inside the union.

Within-class variation (what changes from one shape to the next):

==========  =================================================================================
category    choices (besides continuous sizes and proportions)
==========  =================================================================================
chair       square or round seat; 4 legs (round or square, straight or tapered, optional
            stretchers) or an office-chair pedestal (star feet or a disc); tall backless stool,
            solid back or slatted back (2-4 slats), tilted; with or without arm rests
table       rectangular or round/oval top; 4 legs (optional apron and lower shelf), a
            pedestal (disc or cross feet) or trestle side panels
lamp        floor lamp, desk lamp, or desk lamp with a bent arm and a joint; base disc,
            square or dome; shade: cone frustum, drum, cone or globe; optional finial
mug         straight or tapered hollow body with a bottom; optional rolled rim; a handle
            (torus arc) or none
bottle      cylindrical, square or flask body; cone or dome shoulder; neck with optional
            lip ring and cap; optional label band
==========  =================================================================================

Each primitive carries a ``part`` number (names in :data:`PART_NAMES`); the renderer gives
each part its own random colour.

Example:
    >>> import numpy as np
    >>> parts = build_shape("table", np.random.default_rng(0))
    >>> sorted({PART_NAMES["table"][p.part] for p in parts})  # this one has an apron
    ['apron/shelf', 'legs', 'top']
    >>> parts[0]  # the top comes first; raw units (metres), standing on y = 0
    Box(centre=[0.0, 0.687, 0.0], part=0)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from course_utils.datasets.primitives import (
    Box,
    Ellipsoid,
    Frustum,
    Primitive,
    TorusArc,
    Tube,
    rotation_to,
    rotation_x,
    rotation_y,
    rotation_z,
)

__all__ = ["CATEGORIES", "PART_NAMES", "build_shape"]

#: The categories of the procedural dataset, in label order (``category`` = index here).
CATEGORIES: list[str] = ["chair", "table", "lamp", "mug", "bottle"]

#: The part names of each category (``Primitive.part`` indexes this list).
PART_NAMES: dict[str, list[str]] = {
    "chair": ["seat", "legs", "back", "arms"],
    "table": ["top", "legs", "apron/shelf"],
    "lamp": ["base", "stem", "shade"],
    "mug": ["body", "handle"],
    "bottle": ["body", "neck", "cap", "label"],
}

OVERLAP = 0.01  # how far a part reaches into the part it is attached to (metres)


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _leg(
    square: bool,
    height: float,
    thickness: float,
    taper: float,
    x: float,
    z: float,
    part: int,
    y0: float = 0.0,
) -> Primitive:
    """A vertical leg from ``y0`` up ``height``: a box, or a (tapered) cylinder."""
    centre = (x, y0 + height / 2, z)
    if square:
        return Box((thickness, height, thickness), centre=centre, part=part)
    return Frustum(
        height, thickness / 2 * taper, thickness / 2, segments=16, centre=centre, part=part
    )


# ------------------------------------------------------------------ chair
def build_chair(rng: np.random.Generator) -> list[Primitive]:
    """A chair or stool: seat, legs or pedestal, optional (tilted, slatted) back and arms."""
    SEAT, LEGS, BACK, ARMS = range(4)
    prims: list[Primitive] = []
    stool = rng.random() < 0.15  # backless, tall and narrow (so it is not a small table)
    if stool:
        width, depth = _u(rng, 0.30, 0.42), _u(rng, 0.30, 0.42)
        seat_h, seat_t = _u(rng, 0.55, 0.80), _u(rng, 0.035, 0.07)
    else:
        width, depth = _u(rng, 0.40, 0.60), _u(rng, 0.38, 0.55)
        seat_h, seat_t = _u(rng, 0.38, 0.50), _u(rng, 0.035, 0.08)
    round_seat = rng.random() < 0.2
    if round_seat:
        depth = width * _u(rng, 0.85, 1.0)
        prims.append(
            Frustum(
                seat_t,
                width / 2,
                aspect=depth / width,
                segments=32,
                centre=(0, seat_h - seat_t / 2, 0),
                part=SEAT,
            )
        )
    else:
        prims.append(Box((width, seat_t, depth), centre=(0, seat_h - seat_t / 2, 0), part=SEAT))
    leg_top = seat_h - seat_t + min(OVERLAP, seat_t / 2)  # legs reach into the seat

    if rng.random() < (0.9 if stool else 0.75):  # four legs
        thick = _u(rng, 0.035, 0.06)
        square = rng.random() < 0.5
        taper = 1.0 if rng.random() < 0.5 else _u(rng, 0.55, 0.9)
        if round_seat:
            x, z = 0.33 * width, 0.33 * depth
        else:
            inset = _u(rng, 0.0, 0.05)
            x, z = width / 2 - thick / 2 - inset, depth / 2 - thick / 2 - inset
        for sx in (-1, 1):
            for sz in (-1, 1):
                prims.append(_leg(square, leg_top, thick, taper, sx * x, sz * z, LEGS))
        if rng.random() < (0.8 if stool else 0.3):  # stretchers: side bars and a cross bar
            bar = thick * 0.6
            y = _u(rng, 0.08, 0.2)
            for sx in (-1, 1):
                prims.append(Box((bar, bar, 2 * z), centre=(sx * x, y, 0), part=LEGS))
            prims.append(Box((2 * x, bar, bar), centre=(0, y, 0), part=LEGS))
    else:  # office-chair pedestal
        radius = _u(rng, 0.025, 0.045)
        foot_h = 0.04
        prims.append(
            Frustum(
                leg_top - foot_h / 2,
                radius,
                centre=(0, (leg_top + foot_h / 2) / 2, 0),
                segments=16,
                part=LEGS,
            )
        )
        if rng.random() < 0.6:
            reach = _u(rng, 0.22, 0.32)
            start = _u(rng, 0, 2 * math.pi)
            for k in range(5):
                angle = start + 2 * math.pi * k / 5
                rot = rotation_y(angle)
                centre = rot @ np.array([0.0, foot_h / 2, reach / 2])
                prims.append(Box((0.045, foot_h, reach), centre=centre, rotation=rot, part=LEGS))
        else:
            prims.append(
                Frustum(
                    foot_h, _u(rng, 0.18, 0.26), centre=(0, foot_h / 2, 0), segments=32, part=LEGS
                )
            )

    has_arms = not stool and rng.random() < 0.35
    if not stool:  # a back
        back_h, back_t = _u(rng, 0.30, 0.60), _u(rng, 0.03, 0.06)
        back_w = width * (_u(rng, 0.85, 1.0) if not round_seat else _u(rng, 0.6, 0.85))
        tilt = _u(rng, 0.0, 0.25)
        rot = rotation_x(-tilt)  # the top leans back, towards -Z
        z0 = (-depth / 2 if not round_seat else -0.8 * depth / 2) + back_t / 2
        bottom = np.array([0.0, seat_h - OVERLAP, z0])

        def on_back(x: float, y: float) -> np.ndarray:
            """World point at (x, y) on the back plane (y measured from its bottom)."""
            return bottom + rot @ np.array([x, y, 0.0])

        if rng.random() < 0.6:  # solid back
            prims.append(
                Box(
                    (back_w, back_h, back_t), centre=on_back(0, back_h / 2), rotation=rot, part=BACK
                )
            )
        else:  # two posts, a top rail and vertical slats
            post = back_t * _u(rng, 1.0, 1.4)
            rail_h = _u(rng, 0.06, 0.12)
            for sx in (-1, 1):
                prims.append(
                    Box(
                        (post, back_h, back_t),
                        rotation=rot,
                        part=BACK,
                        centre=on_back(sx * (back_w - post) / 2, back_h / 2),
                    )
                )
            prims.append(
                Box(
                    (back_w, rail_h, back_t),
                    rotation=rot,
                    part=BACK,
                    centre=on_back(0, back_h - rail_h / 2),
                )
            )
            slats = int(rng.integers(2, 5))
            slat_w = _u(rng, 0.03, 0.05)
            for k in range(slats):
                x = (k + 1) / (slats + 1) * (back_w - 2 * post) - (back_w - 2 * post) / 2
                prims.append(
                    Box(
                        (slat_w, back_h - rail_h / 2, back_t * 0.7),
                        rotation=rot,
                        part=BACK,
                        centre=on_back(x, (back_h - rail_h / 2) / 2),
                    )
                )
        if has_arms:
            arm_h, arm_w = _u(rng, 0.18, 0.28), _u(rng, 0.04, 0.07)
            arm_len = depth * _u(rng, 0.75, 1.0)
            x = (width / 2 - arm_w / 2) if not round_seat else 0.42 * width
            front = depth / 2 - _u(rng, 0.0, 0.04)
            for sx in (-1, 1):
                prims.append(
                    Box(
                        (arm_w, 0.035, arm_len),
                        part=ARMS,
                        centre=(sx * x, seat_h + arm_h, front - arm_len / 2),
                    )
                )
                prims.append(
                    Box(
                        (arm_w * 0.8, arm_h + OVERLAP, arm_w * 0.8),
                        part=ARMS,
                        centre=(sx * x, seat_h + (arm_h - OVERLAP) / 2, front - arm_w),
                    )
                )
    return prims


# ------------------------------------------------------------------ table
def build_table(rng: np.random.Generator) -> list[Primitive]:
    """A table: rectangular or round top on four legs, a pedestal or two trestles."""
    TOP, LEGS, APRON = range(3)
    prims: list[Primitive] = []
    height, top_t = _u(rng, 0.55, 0.80), _u(rng, 0.03, 0.08)
    top_y = height - top_t / 2
    leg_h = height - top_t + OVERLAP
    if rng.random() < 0.6:  # rectangular top
        width = _u(rng, 0.8, 1.6)
        depth = width * _u(rng, 0.45, 0.9)
        prims.append(Box((width, top_t, depth), centre=(0, top_y, 0), part=TOP))
        support = rng.choice(["legs", "trestle"], p=[0.85, 0.15])
        leg_x, leg_z = width / 2, depth / 2
    else:  # round or oval top
        radius = _u(rng, 0.35, 0.6)
        aspect = 1.0 if rng.random() < 0.6 else _u(rng, 0.6, 0.9)
        width, depth = 2 * radius, 2 * radius * aspect
        prims.append(
            Frustum(top_t, radius, aspect=aspect, segments=40, centre=(0, top_y, 0), part=TOP)
        )
        support = rng.choice(["legs", "pedestal"], p=[0.35, 0.65])
        leg_x, leg_z = 0.68 * radius, 0.68 * radius * aspect

    if support == "legs":
        thick = _u(rng, 0.04, 0.09)
        square = rng.random() < 0.5
        taper = 1.0 if rng.random() < 0.6 else _u(rng, 0.5, 0.85)
        inset = _u(rng, 0.0, 0.08)
        x = leg_x - thick / 2 - inset if leg_x == width / 2 else leg_x
        z = leg_z - thick / 2 - inset if leg_z == depth / 2 else leg_z
        for sx in (-1, 1):
            for sz in (-1, 1):
                prims.append(_leg(square, leg_h, thick, taper, sx * x, sz * z, LEGS))
        rectangular = leg_x == width / 2
        if rectangular and rng.random() < 0.4:  # apron under the top's edges
            apron_h, apron_t = _u(rng, 0.06, 0.12), thick * 0.5
            y = height - top_t - apron_h / 2 + OVERLAP
            for sx in (-1, 1):
                prims.append(Box((apron_t, apron_h, 2 * z), centre=(sx * x, y, 0), part=APRON))
            for sz in (-1, 1):
                prims.append(Box((2 * x, apron_h, apron_t), centre=(0, y, sz * z), part=APRON))
        if rectangular and rng.random() < 0.25:  # a lower shelf between the legs
            prims.append(
                Box(
                    (2 * x + thick * 0.5, _u(rng, 0.02, 0.04), 2 * z + thick * 0.5),
                    centre=(0, _u(rng, 0.12, 0.25), 0),
                    part=APRON,
                )
            )
    elif support == "pedestal":
        radius = _u(rng, 0.04, 0.10)
        foot_h = _u(rng, 0.03, 0.06)
        prims.append(
            Frustum(
                leg_h - foot_h + OVERLAP,
                radius * _u(rng, 1.0, 1.6),
                radius,
                centre=(0, foot_h - OVERLAP + (leg_h - foot_h + OVERLAP) / 2, 0),
                part=LEGS,
            )
        )
        reach = min(width, depth) * _u(rng, 0.3, 0.45)
        if rng.random() < 0.5:  # a disc
            prims.append(
                Frustum(
                    foot_h,
                    reach,
                    reach * _u(rng, 0.7, 1.0),
                    segments=32,
                    centre=(0, foot_h / 2, 0),
                    part=LEGS,
                )
            )
        else:  # two crossed feet
            start = _u(rng, 0, math.pi / 2)
            for k in range(2):
                rot = rotation_y(start + k * math.pi / 2)
                prims.append(
                    Box(
                        (0.07, foot_h, 2 * reach),
                        rotation=rot,
                        centre=(0, foot_h / 2, 0),
                        part=LEGS,
                    )
                )
    else:  # trestles: two side panels and a stretcher
        panel_t = _u(rng, 0.04, 0.07)
        x = width / 2 - panel_t / 2 - _u(rng, 0.03, 0.12)
        for sx in (-1, 1):
            prims.append(
                Box(
                    (panel_t, leg_h, depth * _u(rng, 0.6, 0.85)),
                    centre=(sx * x, leg_h / 2, 0),
                    part=LEGS,
                )
            )
        prims.append(Box((2 * x, 0.06, 0.05), centre=(0, _u(rng, 0.12, 0.3), 0), part=APRON))
    return prims


# ------------------------------------------------------------------ lamp
def build_lamp(rng: np.random.Generator) -> list[Primitive]:
    """A floor lamp, a desk lamp, or a desk lamp with a bent arm: base, stem and shade."""
    BASE, STEM, SHADE = range(3)
    prims: list[Primitive] = []
    kind = rng.choice(["floor", "desk", "arm"], p=[0.35, 0.35, 0.3])
    scale = 1.0 if kind == "floor" else 0.45
    base_r = _u(rng, 0.12, 0.2) * (1.0 if kind == "floor" else 1.1) * (0.9 + 0.1 * scale)
    base_h = _u(rng, 0.025, 0.05)
    base_kind = rng.choice(["disc", "square", "dome"], p=[0.5, 0.2, 0.3])
    if base_kind == "disc":
        prims.append(
            Frustum(
                base_h,
                base_r,
                base_r * _u(rng, 0.75, 1.0),
                segments=32,
                centre=(0, base_h / 2, 0),
                part=BASE,
            )
        )
    elif base_kind == "square":
        prims.append(
            Box(
                (2 * base_r * 0.85, base_h, 2 * base_r * 0.85), centre=(0, base_h / 2, 0), part=BASE
            )
        )
    else:
        base_h *= 1.8
        prims.append(Ellipsoid((base_r, base_h, base_r), centre=(0, 0.0, 0), part=BASE))
        # Its lower half hangs below y = 0; the shape is re-centred later anyway.

    if kind == "floor":
        stem_h = _u(rng, 1.2, 1.7)
        stem_r = stem_h * _u(rng, 0.02, 0.03)
    else:
        stem_h = _u(rng, 0.28, 0.5)
        stem_r = _u(rng, 0.014, 0.024)
    shade_r = _u(rng, 0.18, 0.3) if kind == "floor" else _u(rng, 0.09, 0.16)
    shade_h = shade_r * _u(rng, 0.7, 1.3)
    shade_kind = rng.choice(["frustum", "drum", "cone", "globe"], p=[0.45, 0.2, 0.2, 0.15])

    def shade(tip: np.ndarray, down: np.ndarray) -> None:
        """Add the shade hanging from ``tip`` and opening along the direction ``down``."""
        if shade_kind == "globe":
            r = shade_r * 0.8
            prims.append(
                Ellipsoid(
                    (r, r, r),
                    centre=tip + down * (r - OVERLAP),
                    rotation=rotation_to(-down),
                    part=SHADE,
                )
            )
            return
        top_r = {"frustum": _u(rng, 0.45, 0.75), "drum": 1.0, "cone": 0.12}[shade_kind]
        if rng.random() < 0.35:  # a finial: a small knob on top of the shade
            knob = shade_r * _u(rng, 0.12, 0.2)
            prims.append(Ellipsoid((knob,) * 3, centre=tip - down * (knob - OVERLAP), part=SHADE))
        prims.append(
            Frustum(
                shade_h,
                shade_r,
                shade_r * top_r,
                segments=32,
                part=SHADE,
                centre=tip + down * (shade_h / 2 - OVERLAP),
                rotation=rotation_to(-down),
            )
        )

    y0 = base_h - OVERLAP if base_kind != "dome" else base_h * 0.8
    if kind in ("floor", "desk"):
        prims.append(
            Frustum(stem_h, stem_r, centre=(0, y0 + stem_h / 2, 0), segments=16, part=STEM)
        )
        top = np.array([0.0, y0 + stem_h, 0.0])
        # The shade sits on the stem: its narrow end a little below the stem's top.
        shade(top + np.array([0.0, shade_h * 0.8, 0.0]), np.array([0.0, -1.0, 0.0]))
    else:  # a bent arm leaning towards the front (+Z) with a joint
        lean = _u(rng, -0.25, 0.15)
        lower_dir = np.array([0.0, math.cos(lean), math.sin(lean)])
        lower = stem_h
        start = np.array([0.0, y0, 0.0])
        joint = start + lower_dir * lower
        prims.append(
            Frustum(
                lower + OVERLAP,
                stem_r,
                centre=start + lower_dir * lower / 2,
                rotation=rotation_to(lower_dir),
                segments=16,
                part=STEM,
            )
        )
        prims.append(Ellipsoid((stem_r * 1.8,) * 3, centre=joint, part=STEM))
        angle = _u(rng, 0.9, 1.8)  # upper arm: angle from vertical, towards +Z
        upper_dir = np.array([0.0, math.cos(angle), math.sin(angle)])
        upper = _u(rng, 0.25, 0.4)
        end = joint + upper_dir * upper
        prims.append(
            Frustum(
                upper,
                stem_r * 0.9,
                centre=joint + upper_dir * upper / 2,
                rotation=rotation_to(upper_dir),
                segments=16,
                part=STEM,
            )
        )
        pitch = _u(rng, 0.0, 0.7)  # the shade points down, tipped towards the front
        down = np.array([0.0, -math.cos(pitch), math.sin(pitch)])
        shade(end, down)
    return prims


# ------------------------------------------------------------------ mug
def build_mug(rng: np.random.Generator) -> list[Primitive]:
    """A mug or cup: a hollow (maybe tapered) body with a bottom, and usually a handle."""
    BODY, HANDLE = range(2)
    height = _u(rng, 0.7, 1.1)
    r_bottom = _u(rng, 0.3, 0.45)
    r_top = r_bottom * (1.0 if rng.random() < 0.5 else _u(rng, 0.85, 1.25))
    wall = _u(rng, 0.05, 0.08)
    body = Tube(
        height, r_bottom, r_top, wall=wall, segments=40, centre=(0, height / 2, 0), part=BODY
    )
    prims: list[Primitive] = [body]
    floor_t = _u(rng, 0.05, 0.1)
    grip = min(OVERLAP, wall / 2)

    def inner_radius(y: float) -> float:
        return float(body.outer_radius(y - height / 2)) - wall

    # The bottom: a disc reaching a little into the wall, its underside just above the
    # tube's lower edge so that no two faces coincide.
    prims.append(
        Frustum(
            floor_t,
            inner_radius(0.0) + grip,
            inner_radius(floor_t) + grip,
            segments=40,
            centre=(0, 1e-3 + floor_t / 2, 0),
            part=BODY,
        )
    )
    if rng.random() < 0.3:  # a rolled rim: a ring lying on the wall's top edge
        prims.append(
            TorusArc(
                r_top - wall / 2,
                wall * _u(rng, 0.55, 0.7),
                centre=(0, height, 0),
                rotation=rotation_x(math.pi / 2),
                segments=40,
                part=BODY,
            )
        )
    if rng.random() < 0.8:
        minor = wall * _u(rng, 0.55, 0.75)
        half_arc = _u(rng, 1.75, 2.2)  # the ends' angle from +X (past vertical: a C shape)
        major = height * _u(rng, 0.18, 0.28)
        y_c = height * _u(rng, 0.45, 0.6)
        major = min(major, y_c - minor - 0.1 * height, 0.92 * height - y_c - minor)
        # The chord between the two ends runs along the middle of the (tapered) wall: turn
        # the torus by the wall's slope and put the chord's midpoint on the mid-wall line.
        slope = (r_top - r_bottom) / height
        rot = rotation_z(-math.atan(slope))
        mid_wall = float(body.outer_radius(y_c - height / 2)) - wall / 2
        chord_mid = np.array([mid_wall, y_c, 0.0])
        centre = chord_mid - rot @ np.array([major * math.cos(half_arc), 0.0, 0.0])
        prims.append(
            TorusArc(major, minor, arc=2 * half_arc, centre=centre, rotation=rot, part=HANDLE)
        )
    return prims


# ------------------------------------------------------------------ bottle
def build_bottle(rng: np.random.Generator) -> list[Primitive]:
    """A bottle: round, square or flask body, shoulder, neck, optional lip, cap and label."""
    BODY, NECK, CAP, LABEL = range(4)
    prims: list[Primitive] = []
    body_h, radius = _u(rng, 0.4, 0.8), _u(rng, 0.14, 0.28)
    kind = rng.choice(["round", "square", "flask"], p=[0.55, 0.2, 0.25])
    neck_r = radius * _u(rng, 0.25, 0.45)
    if kind == "flask":
        depth = _u(rng, 0.55, 1.0)
        prims.append(
            Ellipsoid((radius, body_h / 2, radius * depth), centre=(0, body_h / 2, 0), part=BODY)
        )
        # The ellipsoid's surface at the neck's radius: the neck starts just below it.
        top = body_h / 2 * (1 + math.sqrt(1 - (neck_r / radius) ** 2))
    else:
        if kind == "round":
            prims.append(Frustum(body_h, radius, segments=32, centre=(0, body_h / 2, 0), part=BODY))
        else:
            side = 2 * radius * 0.88
            prims.append(
                Box((side, body_h, side * _u(rng, 0.6, 1.0)), centre=(0, body_h / 2, 0), part=BODY)
            )
        shoulder_h = body_h * _u(rng, 0.15, 0.45)
        r0 = radius * (0.98 if kind == "round" else 0.85)  # inside the body's outline
        if rng.random() < 0.55:  # a cone shoulder
            prims.append(
                Frustum(
                    shoulder_h,
                    r0,
                    neck_r * 1.05,
                    segments=32,
                    part=NECK,
                    centre=(0, body_h - OVERLAP + shoulder_h / 2, 0),
                )
            )
            top = body_h - OVERLAP + shoulder_h
        else:  # a dome shoulder (its lower half is inside the body)
            prims.append(
                Ellipsoid((r0, shoulder_h, r0), centre=(0, body_h - OVERLAP, 0), part=NECK)
            )
            top = body_h - OVERLAP + shoulder_h * math.sqrt(1 - (neck_r / r0) ** 2)
        if kind == "round" and rng.random() < 0.45:  # a label band, slightly proud
            label_h = body_h * _u(rng, 0.3, 0.6)
            prims.append(
                Frustum(
                    label_h,
                    radius * 1.012,
                    segments=32,
                    part=LABEL,
                    centre=(0, body_h * _u(rng, 0.35, 0.55), 0),
                )
            )
    neck_h = _u(rng, 0.08, 0.3)
    neck_y0 = top - 2 * OVERLAP
    prims.append(
        Frustum(
            neck_h,
            neck_r,
            neck_r * _u(rng, 0.85, 1.0),
            segments=24,
            part=NECK,
            centre=(0, neck_y0 + neck_h / 2, 0),
        )
    )
    neck_top = neck_y0 + neck_h
    if rng.random() < 0.3:  # a lip ring around the neck
        lip = neck_r * _u(rng, 0.18, 0.3)
        prims.append(
            TorusArc(
                neck_r,
                lip,
                rotation=rotation_x(math.pi / 2),
                part=NECK,
                centre=(0, neck_top - _u(rng, 1.5, 3.0) * lip, 0),
            )
        )
    if rng.random() < 0.7:  # a cap
        cap_h = _u(rng, 0.04, 0.1)
        prims.append(
            Frustum(
                cap_h,
                neck_r * _u(rng, 1.08, 1.3),
                segments=24,
                part=CAP,
                centre=(0, neck_top - OVERLAP + cap_h / 2, 0),
            )
        )
    return prims


_BUILDERS: dict[str, Callable[[np.random.Generator], list[Primitive]]] = {
    "chair": build_chair,
    "table": build_table,
    "lamp": build_lamp,
    "mug": build_mug,
    "bottle": build_bottle,
}


def build_shape(category: str, rng: np.random.Generator) -> list[Primitive]:
    """The primitives of one random shape of ``category`` (in raw units, +Y up, front +Z).

    Raises:
        ValueError: for a category not in :data:`CATEGORIES`.
    """
    if category not in _BUILDERS:
        raise ValueError(f"unknown category {category!r}; choose from {CATEGORIES}")
    return _BUILDERS[category](rng)
