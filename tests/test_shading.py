"""Shading half of the renderer: lights, materials, blending, shaders and mesh renderers.

Three kinds of checks:

* agreement with recorded PyTorch3D 0.7.9 renders (``tests/fixtures``), end to end and —
  for the hard shaders — on PyTorch3D's own recorded fragments, so that shading is
  tested apart from rasterization;
* analytic cases computed by hand from the formulas (Phong terms, blend functions);
* gradients, compared with finite differences in float64.

Everything goes through the facade, so the file also runs on real PyTorch3D.
"""

from __future__ import annotations

import importlib
import math

import pytest
import torch

from course_utils.p3d import ops, renderer, structures

# README tolerances for shaded images.
MEAN_ABS_PER_CHANNEL = 0.01
PIXEL_TOLERANCE = 0.05
FRACTION_OF_PIXELS = 0.99


# ---------------------------------------------------------------- helpers
def make_fragments(pix_to_face, zbuf, bary_coords, dists):
    """A ``Fragments`` from hand-made tensors (with either backend)."""
    fragments_cls = getattr(renderer, "Fragments", None)
    if fragments_cls is None:  # real PyTorch3D keeps it in renderer.mesh.rasterizer
        module = renderer.__backend_module__.__name__ + ".mesh.rasterizer"
        fragments_cls = importlib.import_module(module).Fragments
    return fragments_cls(pix_to_face=pix_to_face, zbuf=zbuf, bary_coords=bary_coords, dists=dists)


def assert_images_agree(image: torch.Tensor, expected: torch.Tensor) -> None:
    """The README's criterion: mean |diff| per channel <= 0.01, >= 99 % pixels within 0.05."""
    assert image.shape == expected.shape
    diff = (image.float() - expected.float()).abs()
    mean_per_channel = diff.mean(dim=(0, 1, 2))
    within = (diff.amax(dim=-1) <= PIXEL_TOLERANCE).float().mean().item()
    assert (mean_per_channel <= MEAN_ABS_PER_CHANNEL).all(), mean_per_channel
    assert within >= FRACTION_OF_PIXELS, within


def reference_mesh(reference, verts=None):
    """The recorded ico-sphere-like mesh with its recorded vertex colours."""
    mesh = reference["mesh"]
    verts = mesh["verts"] if verts is None else verts
    textures = renderer.TexturesVertex(verts_features=[mesh["colors"]])
    return structures.Meshes(verts=[verts], faces=[mesh["faces"]], textures=textures)


def reference_cameras(case):
    return renderer.FoVPerspectiveCameras(R=case["R"], T=case["T"], fov=float(case["fov"]))


def image_size(case) -> tuple[int, int]:
    return tuple(int(s) for s in case["image_size"])


def soft_settings(case):
    """Rasterizer settings and blend parameters of the recorded soft cases."""
    settings = renderer.RasterizationSettings(
        image_size=image_size(case),
        blur_radius=float(case["blur_radius"]),
        faces_per_pixel=int(case["faces_per_pixel"]),
    )
    blend = renderer.BlendParams(sigma=float(case["sigma"]), gamma=float(case["gamma"]))
    return settings, blend


def flat_triangle_scene(colour=(0.2, 0.4, 0.8), dtype=torch.float32):
    """One triangle in the plane z = 0 (normal +z), a camera on the +z axis, 2x2 fragments.

    Pixels (0, 0), (1, 0), (1, 1) see face 0 at different barycentrics, (0, 1) sees nothing.
    """
    verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype)
    faces = torch.tensor([[0, 1, 2]])
    textures = renderer.TexturesVertex(verts_features=torch.tensor([[colour] * 3], dtype=dtype))
    mesh = structures.Meshes(verts=[verts], faces=[faces], textures=textures)
    # Camera at (0, 0, 3) looking down -z (R = diag(-1, 1, -1), as look_at(3, 0, 180)).
    cameras = renderer.FoVPerspectiveCameras(
        R=torch.diag(torch.tensor([-1.0, 1.0, -1.0], dtype=dtype))[None],
        T=torch.tensor([[0.0, 0.0, 3.0]], dtype=dtype),
    )
    pix_to_face = torch.tensor([[[[0], [-1]], [[0], [0]]]])
    bary = torch.tensor(
        [[[[[0.2, 0.3, 0.5]], [[-1.0, -1.0, -1.0]]], [[[1.0, 0.0, 0.0]], [[0.1, 0.1, 0.8]]]]],
        dtype=dtype,
    )
    zbuf = torch.where(pix_to_face >= 0, 3.0, -1.0).to(dtype)
    dists = torch.where(pix_to_face >= 0, -0.01, -1.0).to(dtype)
    return mesh, cameras, make_fragments(pix_to_face, zbuf, bary, dists)


# ================================================================ reference agreement
HARD_CASES = [
    ("shade_hard_phong", "HardPhongShader"),
    ("shade_hard_flat", "HardFlatShader"),
    ("shade_hard_gouraud", "HardGouraudShader"),
]


@pytest.mark.parametrize("case_name, shader_name", HARD_CASES)
def test_hard_shaders_match_pytorch3d(reference, case_name, shader_name):
    case = reference[case_name]
    cameras = reference_cameras(case)
    lights = renderer.PointLights(location=case["light_location"])
    rasterizer = renderer.MeshRasterizer(
        cameras=cameras, raster_settings=renderer.RasterizationSettings(image_size(case))
    )
    shader = getattr(renderer, shader_name)(cameras=cameras, lights=lights)
    image = renderer.MeshRenderer(rasterizer, shader)(reference_mesh(reference))
    assert_images_agree(image, case["image"])


@pytest.mark.parametrize("case_name, shader_name", HARD_CASES)
def test_hard_shaders_on_pytorch3d_fragments(reference, case_name, shader_name):
    # raster_hard recorded PyTorch3D's fragments for the same camera and image size:
    # shading them must reproduce the recorded image almost exactly.
    case, raster = reference[case_name], reference["raster_hard"]
    assert torch.equal(case["R"], raster["R"]) and torch.equal(case["T"], raster["T"])
    assert image_size(case) == image_size(raster) and int(raster["faces_per_pixel"]) == 1
    fragments = make_fragments(
        raster["pix_to_face"], raster["zbuf"], raster["bary_coords"], raster["dists"]
    )
    lights = renderer.PointLights(location=case["light_location"])
    shader = getattr(renderer, shader_name)(cameras=reference_cameras(case), lights=lights)
    image = shader(fragments, reference_mesh(reference))
    torch.testing.assert_close(image, case["image"], atol=1e-4, rtol=0)


def test_soft_silhouette_matches_pytorch3d(reference):
    case = reference["shade_soft_silhouette"]
    settings, blend = soft_settings(case)
    cameras = reference_cameras(case)
    renderer_ = renderer.MeshRenderer(
        renderer.MeshRasterizer(cameras=cameras, raster_settings=settings),
        renderer.SoftSilhouetteShader(blend_params=blend),
    )
    image = renderer_(reference_mesh(reference))
    assert_images_agree(image, case["image"])
    assert 0.05 < image[..., 3].mean() < 0.95  # a real silhouette, not all empty / full


def test_soft_phong_matches_pytorch3d(reference):
    case = reference["shade_soft_phong"]
    settings, blend = soft_settings(case)
    cameras = reference_cameras(case)
    shader = renderer.SoftPhongShader(
        cameras=cameras,
        lights=renderer.PointLights(location=case["light_location"]),
        blend_params=blend,
    )
    rasterizer = renderer.MeshRasterizer(cameras=cameras, raster_settings=settings)
    image = renderer.MeshRenderer(rasterizer, shader)(reference_mesh(reference))
    assert_images_agree(image, case["image"])


def test_silhouette_gradient_matches_pytorch3d(reference):
    case, recorded = reference["shade_soft_silhouette"], reference["silhouette_grad"]
    settings, blend = soft_settings(case)
    cameras = reference_cameras(case)
    renderer_ = renderer.MeshRenderer(
        renderer.MeshRasterizer(cameras=cameras, raster_settings=settings),
        renderer.SoftSilhouetteShader(blend_params=blend),
    )
    verts = reference["mesh"]["verts"].clone().requires_grad_(True)
    alpha = renderer_(reference_mesh(reference, verts=verts))[..., 3]
    loss = ((alpha - recorded["target"]) ** 2).mean()
    loss.backward()
    assert loss.item() == pytest.approx(recorded["loss"].item(), rel=1e-3)
    cosine = torch.nn.functional.cosine_similarity(
        verts.grad.flatten(), recorded["verts_grad"].flatten(), dim=0
    )
    assert cosine.item() >= 0.9


# ================================================================ lights and materials
def test_light_and_material_defaults():
    point = renderer.PointLights()
    torch.testing.assert_close(point.ambient_color, torch.full((1, 3), 0.5))
    torch.testing.assert_close(point.diffuse_color, torch.full((1, 3), 0.3))
    torch.testing.assert_close(point.specular_color, torch.full((1, 3), 0.2))
    torch.testing.assert_close(point.location, torch.tensor([[0.0, 1.0, 0.0]]))
    directional = renderer.DirectionalLights()
    torch.testing.assert_close(directional.direction, torch.tensor([[0.0, 1.0, 0.0]]))
    torch.testing.assert_close(renderer.AmbientLights().ambient_color, torch.ones(1, 3))
    materials = renderer.Materials()
    for name in ("ambient_color", "diffuse_color", "specular_color"):
        torch.testing.assert_close(getattr(materials, name), torch.ones(1, 3))
    torch.testing.assert_close(materials.shininess, torch.tensor([64.0]))
    assert renderer.BlendParams() == (1e-4, 1e-4, (1.0, 1.0, 1.0))


def test_lights_broadcast_index_clone_and_move():
    lights = renderer.PointLights(location=torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, -3.0]]))
    assert len(lights) == 2
    assert lights.ambient_color.shape == (2, 3)  # broadcast from the (1, 3) default
    torch.testing.assert_close(lights[1].location, torch.tensor([0.0, 0.0, -3.0]))
    copy = lights.clone()
    lights[0].location = torch.tensor([5.0, 6.0, 7.0])  # writes into the batch
    torch.testing.assert_close(lights.location[0], torch.tensor([5.0, 6.0, 7.0]))
    torch.testing.assert_close(copy.location[0], torch.tensor([0.0, 1.0, 0.0]))
    assert lights.to("cpu") is lights
    with pytest.raises(ValueError):
        renderer.PointLights(location=torch.zeros(2, 3), diffuse_color=torch.zeros(3, 3))


def test_materials_check_shapes():
    assert len(renderer.Materials(diffuse_color=torch.rand(4, 3))) == 4
    with pytest.raises(ValueError):
        renderer.Materials(shininess=torch.ones(2, 1))
    with pytest.raises(ValueError):
        renderer.Materials(diffuse_color=torch.rand(2, 3), shininess=torch.ones(3))


def test_gather_props_gives_each_vertex_its_mesh_parameters():
    lights = renderer.PointLights(location=torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    mesh_of_vertex = torch.tensor([0, 0, 1, 1, 1])
    gathered = lights.clone().gather_props(mesh_of_vertex)
    torch.testing.assert_close(gathered.location, lights.location[mesh_of_vertex])
    torch.testing.assert_close(gathered.ambient_color, lights.ambient_color[mesh_of_vertex])


def test_diffuse_broadcasts_per_image_colours_over_pixels():
    normals = torch.tensor([0.0, 0.0, 2.0]).expand(2, 3, 4, 5, 3)  # not unit length
    colour = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    direction = torch.tensor([[0.0, 1.0, 1.0]])  # 45 degrees from the normal
    out = renderer.diffuse(normals=normals, color=colour, direction=direction)
    assert out.shape == (2, 3, 4, 5, 3)
    cos45 = math.sqrt(0.5)
    torch.testing.assert_close(out[0], torch.tensor([cos45, 0.0, 0.0]).expand(3, 4, 5, 3))
    torch.testing.assert_close(out[1], torch.tensor([0.0, cos45, 0.0]).expand(3, 4, 5, 3))


def test_specular_peaks_at_the_mirror_point():
    # Plane z = 0 (normal +z), light at (-1, 0, 2), camera at (2, 0, 1). Equal angles of
    # incidence and reflection put the highlight at x = (-1 * 1 + 2 * 2) / (2 + 1) = 1.
    x = torch.linspace(-1.0, 3.0, 401)
    points = torch.stack([x, torch.zeros_like(x), torch.zeros_like(x)], dim=-1)  # (P, 3)
    normals = torch.tensor([[0.0, 0.0, 1.0]]).expand_as(points)
    lights = renderer.PointLights(location=((-1.0, 0.0, 2.0),))
    camera = torch.tensor([[2.0, 0.0, 1.0]])
    spec = lights.specular(
        normals=normals, points=points, camera_position=camera, shininess=torch.tensor([10.0])
    )
    peak = spec[:, 0].argmax()
    assert x[peak].item() == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(spec[peak], torch.full((3,), 0.2))  # (r . v) = 1 there
    # At x = 0: r = (1, 0, 2) / sqrt(5), v = (2, 0, 1) / sqrt(5), r . v = 0.8.
    at_zero = spec[x.abs().argmin()]
    torch.testing.assert_close(at_zero, torch.full((3,), 0.2 * 0.8**10))


def test_no_diffuse_or_specular_from_a_light_behind_the_surface():
    # Light and camera both below the plane z = 0 whose normal is +z: the mirrored light
    # direction does point at the camera, but a surface lit from behind gets no highlight.
    points = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    normals = torch.tensor([[0.0, 0.0, 1.0]]).expand_as(points)
    lights = renderer.PointLights(location=((-1.0, 0.0, -2.0),))
    camera = torch.tensor([[2.0, 0.0, -1.0]])
    assert lights.diffuse(normals=normals, points=points).abs().max() == 0
    spec = lights.specular(normals, points, camera, torch.tensor([10.0]))
    assert spec.abs().max() == 0
    # The same light above the surface (mirrored) does give a highlight.
    above = renderer.PointLights(location=((-1.0, 0.0, 2.0),))
    mirrored_camera = camera * torch.tensor([1.0, 1.0, -1.0])
    assert above.specular(normals, points, mirrored_camera, torch.tensor([10.0])).max() > 0.01


@pytest.mark.parametrize("shader_name", ["HardPhongShader", "HardFlatShader", "HardGouraudShader"])
def test_head_on_directional_light_gives_ambient_plus_diffuse(shader_name):
    texel = torch.tensor([0.2, 0.4, 0.8])
    mesh, cameras, fragments = flat_triangle_scene(tuple(texel.tolist()))
    lights = renderer.DirectionalLights(
        ambient_color=((0.1, 0.2, 0.3),),
        diffuse_color=((0.4, 0.5, 0.6),),
        specular_color=((0.3, 0.3, 0.3),),
        direction=((0.0, 0.0, 1.0),),  # towards the light = the face normal: cos = 1
    )
    materials = renderer.Materials(
        ambient_color=((1.0, 0.5, 0.25),),
        diffuse_color=((0.5, 1.0, 1.0),),
        specular_color=((0.0, 0.0, 0.0),),  # no highlight: ambient + diffuse only
    )
    blend = renderer.BlendParams(background_color=(0.0, 0.0, 0.0))
    shader = getattr(renderer, shader_name)(
        cameras=cameras, lights=lights, materials=materials, blend_params=blend
    )
    image = shader(fragments, mesh)
    expected = (
        torch.tensor([1.0, 0.5, 0.25]) * torch.tensor([0.1, 0.2, 0.3])
        + torch.tensor([0.5, 1.0, 1.0]) * torch.tensor([0.4, 0.5, 0.6])
    ) * texel
    for row, col in [(0, 0), (1, 0), (1, 1)]:
        torch.testing.assert_close(image[0, row, col, :3], expected)
        assert image[0, row, col, 3] == 1.0
    torch.testing.assert_close(image[0, 0, 1], torch.zeros(4))  # background, alpha 0


def test_tilted_directional_light_scales_diffuse_by_the_cosine():
    mesh, cameras, fragments = flat_triangle_scene((1.0, 1.0, 1.0))
    angle = math.radians(60)
    lights = renderer.DirectionalLights(
        ambient_color=((0.0, 0.0, 0.0),),
        diffuse_color=((1.0, 1.0, 1.0),),
        specular_color=((0.0, 0.0, 0.0),),
        direction=((math.sin(angle), 0.0, math.cos(angle)),),
    )
    image = renderer.HardPhongShader(cameras=cameras, lights=lights)(fragments, mesh)
    torch.testing.assert_close(image[0, 0, 0, :3], torch.full((3,), 0.5))


def test_specular_adds_the_light_colour_on_top_of_the_texel():
    # Camera and light straight above the face centre: at that pixel r = v, so the
    # highlight is the full specular colour, added (not multiplied) to the lit texel.
    mesh, _, fragments = flat_triangle_scene((0.2, 0.4, 0.8))
    centre = mesh.verts_packed().mean(dim=0)  # barycentrics (1/3, 1/3, 1/3)
    above = centre + torch.tensor([0.0, 0.0, 2.0])
    cameras = renderer.FoVPerspectiveCameras(
        R=torch.diag(torch.tensor([-1.0, 1.0, -1.0]))[None],
        T=(-above * torch.tensor([-1.0, 1.0, -1.0]))[None],  # centre C = -T R^T
    )
    torch.testing.assert_close(cameras.get_camera_center(), above[None])
    bary = torch.full((1, 1, 1, 1, 3), 1.0 / 3.0)
    fragments = make_fragments(
        torch.zeros(1, 1, 1, 1, dtype=torch.int64),
        torch.full((1, 1, 1, 1), 2.0),
        bary,
        torch.full((1, 1, 1, 1), -0.01),
    )
    lights = renderer.PointLights(location=above[None])
    image = renderer.HardPhongShader(cameras=cameras, lights=lights)(fragments, mesh)
    expected = (0.5 + 0.3) * torch.tensor([0.2, 0.4, 0.8]) + 0.2
    torch.testing.assert_close(image[0, 0, 0, :3], expected)


def test_ambient_lights_show_the_texture_unshaded():
    mesh, cameras, fragments = flat_triangle_scene((0.2, 0.4, 0.8))
    lights = renderer.AmbientLights(ambient_color=((0.5, 1.0, 0.25),))
    image = renderer.HardPhongShader(cameras=cameras, lights=lights)(fragments, mesh)
    torch.testing.assert_close(image[0, 1, 1, :3], torch.tensor([0.1, 0.4, 0.2]))


# ================================================================ blending
def test_hard_rgb_blend_takes_the_nearest_face_or_the_background():
    colors = torch.rand(1, 1, 3, 2, 3)
    pix_to_face = torch.tensor([[[[0, 1], [-1, -1], [2, -1]]]])
    fragments = make_fragments(
        pix_to_face, torch.ones(1, 1, 3, 2), torch.zeros(1, 1, 3, 2, 3), None
    )
    blend = renderer.BlendParams(background_color=(0.1, 0.2, 0.3))
    image = renderer.hard_rgb_blend(colors, fragments, blend)
    assert image.shape == (1, 1, 3, 4)
    torch.testing.assert_close(image[0, 0, 0, :3], colors[0, 0, 0, 0])
    torch.testing.assert_close(image[0, 0, 1, :3], torch.tensor([0.1, 0.2, 0.3]))
    torch.testing.assert_close(image[0, 0, 2, :3], colors[0, 0, 2, 0])
    torch.testing.assert_close(image[0, 0, :, 3], torch.tensor([1.0, 0.0, 1.0]))


def two_pixel_soft_fragments(dtype=torch.float64):
    """Pixel 0: two faces (inside one, just outside another); pixel 1: no face."""
    pix_to_face = torch.tensor([[[[3, 7], [-1, -1]]]])
    zbuf = torch.tensor([[[[2.0, 3.5], [-1.0, -1.0]]]], dtype=dtype)
    dists = torch.tensor([[[[-2e-4, 1e-4], [-5.0, -5.0]]]], dtype=dtype)  # masked -5 ignored
    bary = torch.full((1, 1, 2, 2, 3), 1.0 / 3.0, dtype=dtype)
    return make_fragments(pix_to_face, zbuf, bary, dists)


# PyTorch3D's sigmoid_alpha_blend is a compiled kernel for float32 only.
FLOAT32_KERNEL = pytest.mark.builtin_only(reason="PyTorch3D's blend kernel takes float32 only")


@pytest.mark.parametrize(
    "dtype", [torch.float32, pytest.param(torch.float64, marks=FLOAT32_KERNEL)]
)
def test_sigmoid_alpha_blend_by_hand(dtype):
    fragments = two_pixel_soft_fragments(dtype)
    colors = torch.rand(1, 1, 2, 2, 3, dtype=dtype)
    blend = renderer.BlendParams(sigma=1e-4)
    image = renderer.sigmoid_alpha_blend(colors, fragments, blend)

    def sigmoid(x):
        return 1.0 / (1.0 + math.exp(-x))

    p1, p2 = sigmoid(2.0), sigmoid(-1.0)  # sigmoid(-dist / sigma)
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    assert image[0, 0, 0, 3].item() == pytest.approx(1 - (1 - p1) * (1 - p2), abs=tol)
    assert image[0, 0, 1, 3].item() == 0.0  # no face: empty, whatever dists holds
    torch.testing.assert_close(image[0, 0, :, :3], colors[0, 0, :, 0])


def test_softmax_rgb_blend_by_hand():
    fragments = two_pixel_soft_fragments()
    colors = torch.zeros(1, 1, 2, 2, 3, dtype=torch.float64)
    colors[0, 0, 0, 0] = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    colors[0, 0, 0, 1] = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    background = (0.0, 0.0, 1.0)
    sigma, gamma, znear, zfar = 1e-4, 0.05, 1.0, 100.0
    blend = renderer.BlendParams(sigma=sigma, gamma=gamma, background_color=background)
    image = renderer.softmax_rgb_blend(colors, fragments, blend, znear=znear, zfar=zfar)

    probs = [1 / (1 + math.exp(-d / sigma * -1)) for d in (-2e-4, 1e-4)]
    z = [(zfar - zb) / (zfar - znear) for zb in (2.0, 3.5)]
    z_max = max(z)
    weights = [p * math.exp((zk - z_max) / gamma) for p, zk in zip(probs, z)]
    w_background = max(math.exp((1e-10 - z_max) / gamma), 1e-10)
    total = sum(weights) + w_background
    expected = [weights[0] / total, weights[1] / total, w_background / total]
    torch.testing.assert_close(image[0, 0, 0, :3], torch.tensor(expected, dtype=torch.float64))
    alpha = 1 - (1 - probs[0]) * (1 - probs[1])
    assert image[0, 0, 0, 3].item() == pytest.approx(alpha, abs=1e-12)
    # The empty pixel is pure background with alpha 0.
    torch.testing.assert_close(image[0, 0, 1], torch.tensor([0.0, 0.0, 1.0, 0.0]).double())


def test_softmax_rgb_blend_small_gamma_is_a_z_buffer_and_accepts_per_image_depth_range():
    fragments = two_pixel_soft_fragments()
    colors = torch.rand(1, 1, 2, 2, 3, dtype=torch.float64)
    sharp = renderer.softmax_rgb_blend(colors, fragments, renderer.BlendParams(gamma=1e-6))
    p1 = 1 / (1 + math.exp(-2.0))
    # Only the nearest face counts; its coverage p1 shares the pixel with the background
    # weight exp(-z_max / gamma) ~ 0, so the colour is the nearest face's.
    torch.testing.assert_close(sharp[0, 0, 0, :3], colors[0, 0, 0, 0])
    assert sharp[0, 0, 0, 3].item() > p1  # alpha still counts both faces

    batch = make_fragments(
        *(t.expand(2, *t.shape[1:]) for t in (fragments.pix_to_face, fragments.zbuf)),
        fragments.bary_coords.expand(2, -1, -1, -1, -1),
        fragments.dists.expand(2, -1, -1, -1),
    )
    blend = renderer.BlendParams(gamma=0.05)
    colors2 = colors.expand(2, -1, -1, -1, -1)
    zfar = torch.tensor([100.0, 10.0], dtype=torch.float64)
    per_image = renderer.softmax_rgb_blend(colors2, batch, blend, znear=1.0, zfar=zfar)
    for n, far in enumerate((100.0, 10.0)):
        single = renderer.softmax_rgb_blend(colors, fragments, blend, znear=1.0, zfar=far)
        torch.testing.assert_close(per_image[n], single[0])
    assert not torch.allclose(per_image[0], per_image[1])


@FLOAT32_KERNEL  # float64 finite differences
def test_soft_blends_have_exact_gradients():
    fragments = two_pixel_soft_fragments()
    colors = torch.rand(1, 1, 2, 2, 3, dtype=torch.float64, requires_grad=True)
    dists = fragments.dists.clone().requires_grad_(True)
    zbuf = fragments.zbuf.clone().requires_grad_(True)
    blend = renderer.BlendParams(sigma=1e-4, gamma=0.05)

    def softmax(colors, dists, zbuf):
        frags = make_fragments(fragments.pix_to_face, zbuf, fragments.bary_coords, dists)
        return renderer.softmax_rgb_blend(colors, frags, blend)

    def sigmoid(dists):
        frags = make_fragments(fragments.pix_to_face, fragments.zbuf, fragments.bary_coords, dists)
        return renderer.sigmoid_alpha_blend(colors.detach(), frags, blend)[..., 3]

    assert torch.autograd.gradcheck(softmax, (colors, dists, zbuf), eps=1e-7, atol=1e-6)
    assert torch.autograd.gradcheck(sigmoid, (dists,), eps=1e-7, atol=1e-6)


# ================================================================ interpolation
def test_interpolate_face_attributes_values_zeros_and_gradients():
    attrs = torch.rand(4, 3, 2, dtype=torch.float64, requires_grad=True)
    pix_to_face = torch.tensor([[[[2, -1], [0, 3]]]])
    bary = torch.rand(1, 1, 2, 2, 3, dtype=torch.float64)
    bary = (bary / bary.sum(-1, keepdim=True)).requires_grad_(True)
    out = ops.interpolate_face_attributes(pix_to_face, bary, attrs)
    assert out.shape == (1, 1, 2, 2, 2)
    expected = (bary[0, 0, 0, 0, :, None] * attrs[2]).sum(0)
    torch.testing.assert_close(out[0, 0, 0, 0], expected)
    torch.testing.assert_close(out[0, 0, 0, 1], torch.zeros(2, dtype=torch.float64))
    out.sum().backward()
    assert bary.grad[0, 0, 0, 1].abs().sum() == 0  # empty pixel: no gradient
    assert attrs.grad[1].abs().sum() == 0  # face 1 is seen nowhere
    assert torch.autograd.gradcheck(
        lambda b, a: ops.interpolate_face_attributes(pix_to_face, b, a), (bary, attrs)
    )


def test_interpolate_face_attributes_rejects_bad_shapes():
    with pytest.raises(ValueError):
        ops.interpolate_face_attributes(
            torch.zeros(1, 2, 2, 1, dtype=torch.int64),
            torch.rand(1, 2, 2, 1, 3),
            torch.rand(3, 4, 2),
        )
    with pytest.raises(ValueError):
        ops.interpolate_face_attributes(
            torch.zeros(1, 2, 2, 2, dtype=torch.int64),
            torch.rand(1, 2, 2, 1, 3),
            torch.rand(3, 3, 2),
        )


# ================================================================ shaders and renderers
def test_shader_defaults_and_missing_cameras():
    shader = renderer.HardPhongShader()
    assert shader.cameras is None
    torch.testing.assert_close(shader.lights.location, torch.tensor([[0.0, 1.0, 0.0]]))
    torch.testing.assert_close(shader.materials.shininess, torch.tensor([64.0]))
    assert shader.blend_params == renderer.BlendParams()
    assert renderer.SoftSilhouetteShader().blend_params.sigma == 1e-4
    mesh, _, fragments = flat_triangle_scene()
    with pytest.raises(ValueError):
        shader(fragments, mesh)


def test_forward_keyword_arguments_override_the_shader_settings():
    mesh, cameras, fragments = flat_triangle_scene()
    red_light = renderer.PointLights(ambient_color=((1.0, 0.0, 0.0),), location=((0, 0, 5.0),))
    default = renderer.HardPhongShader(cameras=cameras)
    configured = renderer.HardPhongShader(cameras=cameras, lights=red_light)
    overridden = default(fragments, mesh, lights=red_light)
    torch.testing.assert_close(overridden, configured(fragments, mesh))
    assert not torch.allclose(overridden, default(fragments, mesh))
    black = renderer.BlendParams(background_color=(0.0, 0.0, 0.0))
    torch.testing.assert_close(
        default(fragments, mesh, blend_params=black)[0, 0, 1], torch.zeros(4)
    )
    # Cameras given only at call time work too.
    torch.testing.assert_close(
        renderer.HardPhongShader()(fragments, mesh, cameras=cameras), default(fragments, mesh)
    )
    # The silhouette shader takes blend_params per call as well.
    wide = renderer.BlendParams(sigma=0.05)
    silhouette = renderer.SoftSilhouetteShader()
    torch.testing.assert_close(
        silhouette(fragments, mesh, blend_params=wide),
        renderer.SoftSilhouetteShader(blend_params=wide)(fragments, mesh),
    )
    assert not torch.allclose(
        silhouette(fragments, mesh, blend_params=wide), silhouette(fragments, mesh)
    )


def test_soft_shaders_take_the_depth_range_from_the_camera_or_kwargs():
    mesh, _, fragments = flat_triangle_scene()
    blend = renderer.BlendParams(gamma=0.5)  # large: the background weight shows
    near_far = dict(znear=2.0, zfar=4.0)
    cameras = renderer.FoVPerspectiveCameras(
        R=torch.diag(torch.tensor([-1.0, 1.0, -1.0]))[None], T=torch.tensor([[0.0, 0.0, 3.0]])
    )
    tight = renderer.FoVPerspectiveCameras(R=cameras.R, T=cameras.T, **near_far)
    for shader_cls in (renderer.SoftPhongShader, renderer.SoftGouraudShader):
        shader = shader_cls(cameras=cameras, blend_params=blend)
        by_kwargs = shader(fragments, mesh, **near_far)
        by_camera = shader_cls(cameras=tight, blend_params=blend)(fragments, mesh)
        torch.testing.assert_close(by_kwargs, by_camera)
        assert not torch.allclose(by_kwargs, shader(fragments, mesh))


def test_renderer_with_fragments_and_to(reference):
    case = reference["shade_hard_phong"]
    cameras = reference_cameras(case)
    rasterizer = renderer.MeshRasterizer(
        cameras=cameras, raster_settings=renderer.RasterizationSettings(image_size=32)
    )
    shader = renderer.HardPhongShader(cameras=cameras)
    mesh = reference_mesh(reference)
    plain = renderer.MeshRenderer(rasterizer, shader)
    with_fragments = renderer.MeshRendererWithFragments(rasterizer, shader)
    assert plain.to("cpu") is plain and shader.to("cpu") is shader
    images, fragments = with_fragments(mesh)
    assert images.shape == (1, 32, 32, 4) and fragments.pix_to_face.shape == (1, 32, 32, 1)
    torch.testing.assert_close(images, plain(mesh))
    torch.testing.assert_close(images, shader(fragments, mesh))
    hit = fragments.pix_to_face[..., 0] >= 0
    assert torch.equal(images[..., 3] == 1, hit)


@pytest.mark.parametrize("shader_name", ["HardPhongShader", "HardGouraudShader", "HardFlatShader"])
def test_batched_lights_light_each_mesh_separately(reference, shader_name):
    # Two meshes, two cameras, two lights, two materials: each image must equal the
    # render of its mesh alone with its own camera, light and material.
    R, T = renderer.look_at_view_transform(
        2.7, torch.tensor([10.0, 30.0]), torch.tensor([150.0, 40.0])
    )
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T)
    mesh = reference_mesh(reference)
    batch = structures.join_meshes_as_batch([mesh, mesh.offset_verts(torch.tensor([0.3, 0, 0]))])
    locations = torch.tensor([[0.0, 0.0, -3.0], [2.0, 2.0, -1.0]])
    materials = renderer.Materials(shininess=torch.tensor([64.0, 5.0]))
    settings = renderer.RasterizationSettings(image_size=24)
    shader_cls = getattr(renderer, shader_name)

    def render(meshes, cameras, location, materials):
        shader = shader_cls(
            cameras=cameras, lights=renderer.PointLights(location=location), materials=materials
        )
        rasterizer = renderer.MeshRasterizer(cameras=cameras, raster_settings=settings)
        return renderer.MeshRenderer(rasterizer, shader)(meshes)

    images = render(batch, cameras, locations, materials)
    for n in range(2):
        single_materials = renderer.Materials(shininess=materials.shininess[n : n + 1])
        single = render(batch[n], cameras[n], locations[n : n + 1], single_materials)
        torch.testing.assert_close(images[n], single[0])
    assert not torch.allclose(images[0], images[1])


# ================================================================ gradients
def _tiny_soft_render(verts, colours, shader, sigma):
    """Render one float64 triangle at 12x12 with soft rasterization."""
    R, T = renderer.look_at_view_transform(2.5, 10, 20)
    cameras = renderer.FoVPerspectiveCameras(R=R.double(), T=T.double())
    settings = renderer.RasterizationSettings(
        image_size=12, blur_radius=math.log(1 / 1e-4 - 1) * sigma, faces_per_pixel=2
    )
    mesh = structures.Meshes(
        verts=[verts],
        faces=[torch.tensor([[0, 1, 2]])],
        textures=renderer.TexturesVertex(verts_features=[colours]),
    )
    rasterizer = renderer.MeshRasterizer(cameras=cameras, raster_settings=settings)
    return renderer.MeshRenderer(rasterizer, shader)(mesh, cameras=cameras)


def _finite_difference(fn, x, h=1e-6):
    grad = torch.zeros_like(x)
    for index in range(x.numel()):
        step = torch.zeros_like(x).view(-1)
        step[index] = h
        step = step.view_as(x)
        grad.view(-1)[index] = (fn(x + step) - fn(x - step)) / (2 * h)
    return grad


@pytest.mark.builtin_only(
    reason="float64 finite differences; PyTorch3D's FoV projection and kernels are float32"
)
@pytest.mark.parametrize("shader_name", ["SoftSilhouetteShader", "SoftPhongShader"])
def test_soft_shaders_vertex_gradients_match_finite_differences(shader_name):
    torch.manual_seed(0)
    sigma = 1e-3
    verts = torch.tensor(
        [[-0.5, -0.4, 0.0], [0.6, -0.5, 0.1], [0.0, 0.55, -0.1]], dtype=torch.float64
    )
    colours = torch.tensor([[0.9, 0.2, 0.1], [0.1, 0.8, 0.3], [0.2, 0.3, 0.9]], dtype=torch.float64)
    blend = renderer.BlendParams(sigma=sigma, gamma=1e-2)
    if shader_name == "SoftSilhouetteShader":
        shader = renderer.SoftSilhouetteShader(blend_params=blend)
    else:
        lights = renderer.PointLights(location=((0.5, 1.0, 2.0),))
        shader = renderer.SoftPhongShader(lights=lights, blend_params=blend)
    weights = torch.randn(1, 12, 12, 4, dtype=torch.float64)

    def loss(v):
        return (_tiny_soft_render(v, colours, shader, sigma) * weights).sum()

    v = verts.clone().requires_grad_(True)
    loss(v).backward()
    assert v.grad.abs().max() > 1e-3  # the silhouette edges do move the image
    torch.testing.assert_close(v.grad, _finite_difference(loss, verts), atol=1e-6, rtol=1e-5)


def test_soft_phong_gradient_reaches_vertex_colours():
    mesh, cameras, fragments = flat_triangle_scene(dtype=torch.float64)
    colours = torch.rand(3, 3, dtype=torch.float64, requires_grad=True)
    lights = renderer.PointLights(location=((0.2, 0.1, 2.0),))
    shader = renderer.SoftPhongShader(
        cameras=cameras, lights=lights, blend_params=renderer.BlendParams(gamma=0.05)
    )

    def render(c):
        textured = structures.Meshes(
            verts=mesh.verts_list(),
            faces=mesh.faces_list(),
            textures=renderer.TexturesVertex(verts_features=[c]),
        )
        return shader(fragments, textured)

    assert torch.autograd.gradcheck(render, (colours,))
    render(colours)[..., :3].sum().backward()
    assert (colours.grad > 0).all()  # every vertex colour shows in a lit pixel


# ================================================================ errors of the built-in backend
@pytest.mark.builtin_only
def test_shaders_say_which_textures_to_add():
    mesh, cameras, fragments = flat_triangle_scene()
    bare = structures.Meshes(verts=mesh.verts_list(), faces=mesh.faces_list())
    with pytest.raises(ValueError, match="TexturesVertex"):
        renderer.HardPhongShader(cameras=cameras)(fragments, bare)
    uv = renderer.TexturesUV(
        maps=torch.rand(1, 2, 2, 3),
        faces_uvs=[torch.tensor([[0, 1, 2]])],
        verts_uvs=[torch.rand(3, 2)],
    )
    uv_mesh = structures.Meshes(verts=mesh.verts_list(), faces=mesh.faces_list(), textures=uv)
    with pytest.raises(ValueError, match="TexturesVertex"):
        renderer.HardGouraudShader(cameras=cameras)(fragments, uv_mesh)
    with pytest.raises(ValueError, match="cameras"):
        renderer.SoftPhongShader()(fragments, mesh)


@pytest.mark.builtin_only
def test_lights_reject_a_bare_triple_with_a_hint():
    with pytest.raises(ValueError, match=r"location=\(\(x, y, z\),\)"):
        renderer.PointLights(location=(0.0, 1.0, 0.0))
