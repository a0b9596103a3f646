"""The mesh rasterizer: PyTorch3D's recorded fragments, analytic cases, clipping, gradients."""

from __future__ import annotations

import importlib
import math

import pytest
import torch

from course_utils.p3d import BACKEND, renderer, structures, utils

Meshes = structures.Meshes


def rasterize(mesh, cameras, **settings):
    return renderer.MeshRasterizer(
        cameras=cameras, raster_settings=renderer.RasterizationSettings(**settings)
    )(mesh)


def ndc_camera(**kwargs):
    """An orthographic camera whose NDC equals world x, y (+X left, +Y up), z = depth."""
    return renderer.FoVOrthographicCameras(**kwargs)


def pixel_centre(row: int, col: int, size: int) -> tuple[float, float]:
    """NDC (x, y) of a pixel centre in an S x S image: +X left, +Y up, row 0 at the top."""
    return 1 - (2 * col + 1) / size, 1 - (2 * row + 1) / size


# ---------------------------------------------------------------- reference cases
REFERENCE_CASES = ("raster_hard", "raster_soft", "raster_cull")
#: Constant of the first-order float32 error bound of a barycentric coordinate (below).
BARY_ERROR_CONSTANT = 32


def barycentric_tolerance(case, faces, verts, pix_to_face):
    """Per-slot tolerance of barycentrics computed in float32, from the geometry.

    A barycentric coordinate is a ratio of two edge functions, ``((p - a) x (b - a)) /
    ((c - a) x (b - a))``, of the projected vertices. Rounding the projection (a 4 x 4
    matrix product, whose summation order MKL chooses per instruction set: SSE4.2, AVX2
    and AVX-512 round differently) and the edge functions moves it by about
    ``eps * R * L / A2`` per operation, with R the NDC magnitude (~1), L the longest edge
    and A2 twice the area of the face on screen; the perspective correction multiplies
    that by up to ``z_max / z_min``. About 30 such roundings add up, hence
    ``32 * eps * R * L / A2 * z_max / z_min``: small faces seen edge-on are ill-conditioned
    and get a wider tolerance, well-shaped faces a tight one (a few 1e-5 at 64 x 64).
    """
    cameras = renderer.FoVPerspectiveCameras(R=case["R"], T=case["T"], fov=float(case["fov"]))
    # The cameras' matrices in float64 (PyTorch3D builds an FoV projection in float32).
    full = cameras.get_full_projection_transform().get_matrix()[0].double()
    view = cameras.get_world_to_view_transform().get_matrix()[0].double()
    homogeneous = torch.cat([verts.double(), torch.ones(len(verts), 1, dtype=torch.float64)], 1)
    clip = homogeneous @ full
    ndc = (clip[:, :2] / clip[:, 3:])[faces]  # (F, 3, 2)
    view_z = (homogeneous @ view)[:, 2][faces]  # (F, 3)
    edges = ndc.roll(-1, 1) - ndc
    longest = edges.norm(dim=-1).amax(-1)
    area2 = (edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]).abs()
    magnitude = ndc.abs().amax((1, 2)).clamp(min=1.0)
    z_ratio = view_z.amax(-1) / view_z.amin(-1)
    condition = magnitude * longest / area2 * z_ratio  # (F,)
    eps = torch.finfo(torch.float32).eps
    return (BARY_ERROR_CONSTANT * eps * condition[pix_to_face.clamp(min=0)]).float()


def check_reference_fragments(reference, name):
    """Rasterize a recorded case and compare with PyTorch3D's fragments.

    What "agrees" means (fixtures/README): ``pix_to_face`` equal on >= 99.5 % of the
    pixels (a pixel centre on an edge between two faces may go either way), and where it
    agrees, ``zbuf``/``dists`` within 1e-5 and barycentrics within their float32 error
    bound (:func:`barycentric_tolerance`) — on every x86-64 CPU and MKL instruction set.
    """
    case = reference[name]
    mesh_case = reference["mesh"]
    mesh = Meshes(verts=[mesh_case["verts"]], faces=[mesh_case["faces"]])
    cameras = renderer.FoVPerspectiveCameras(R=case["R"], T=case["T"], fov=float(case["fov"]))
    fragments = rasterize(
        mesh,
        cameras,
        image_size=tuple(case["image_size"].tolist()),
        blur_radius=float(case["blur_radius"]),
        faces_per_pixel=int(case["faces_per_pixel"]),
        cull_backfaces=bool(case["cull_backfaces"]),
    )
    agree = fragments.pix_to_face == case["pix_to_face"]
    assert agree.float().mean() >= 0.995
    hit = agree & (case["pix_to_face"] >= 0)
    assert hit.sum() > 1000  # the mesh really covers part of the image
    for field in ("zbuf", "dists"):
        torch.testing.assert_close(
            getattr(fragments, field)[hit], case[field][hit], atol=1e-5, rtol=1e-5
        )
    tolerance = barycentric_tolerance(
        case, mesh_case["faces"], mesh_case["verts"], case["pix_to_face"]
    )[hit]
    error = (fragments.bary_coords[hit] - case["bary_coords"][hit]).abs().amax(-1)
    worst = int((error - tolerance).argmax())
    assert (error <= tolerance).all(), (
        f"{name}: barycentric error {error[worst]:.2e} above its bound {tolerance[worst]:.2e}"
    )
    empty = case["pix_to_face"] < 0
    assert (fragments.zbuf[empty & agree] == -1).all()


@pytest.mark.parametrize("name", REFERENCE_CASES)
def test_fragments_match_pytorch3d(reference, name):
    check_reference_fragments(reference, name)


def test_the_barycentric_tolerance_is_tight_where_faces_are_well_shaped(reference):
    """The bound is no blanket: a 1e-3 error in a barycentric would fail it everywhere."""
    case, mesh_case = reference["raster_soft"], reference["mesh"]
    hit = case["pix_to_face"] >= 0
    tolerance = barycentric_tolerance(
        case, mesh_case["faces"], mesh_case["verts"], case["pix_to_face"]
    )[hit]
    assert tolerance.min() > 1e-5  # above float32 noise of O(1) numbers...
    assert tolerance.median() < 1e-4  # ...and tight for the typical face
    assert (tolerance < 1e-3).float().mean() > 0.95


def test_reference_fragments_under_other_mkl_instruction_sets():
    """Rerun the reference comparison in fresh processes on other CPU code paths.

    MKL picks its code path once, when it loads, from ``MKL_ENABLE_INSTRUCTIONS`` and the
    CPU, and PyTorch's own vectorised kernels from ``ATEN_CPU_CAPABILITY``; another path
    rounds matrix products and reductions differently. Running the comparison on the
    oldest paths (SSE4.2, no vectorisation) and on AVX2 catches tolerances that hold on
    one CPU only. (A CPU without AVX2 falls back to what it has; the run still checks it.)
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).parent
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import conftest, test_rasterizer as t;"
        "ref = conftest.ReferenceCases(conftest.FIXTURES / 'pytorch3d_reference.npz');"
        "[t.check_reference_fragments(ref, n) for n in t.REFERENCE_CASES];"
        "import torch; print(torch.backends.cpu.get_cpu_capability())"
    )
    paths = {"SSE4_2": "default", "AVX2": None}  # MKL instructions: ATen capability
    runs = {}
    for instructions, capability in paths.items():
        env = dict(os.environ, MKL_ENABLE_INSTRUCTIONS=instructions, OMP_NUM_THREADS="1")
        if capability:
            env["ATEN_CPU_CAPABILITY"] = capability
        env["PYTHONPATH"] = os.pathsep.join([str(tests.parent), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        runs[instructions] = subprocess.Popen(  # both at once: the cost is one import
            [sys.executable, "-c", script, str(tests)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    for instructions, process in runs.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, (
            f"MKL_ENABLE_INSTRUCTIONS={instructions}: {err.strip().splitlines()[-1:]}"
        )
        if paths[instructions]:
            assert out.strip() == paths[instructions].upper()  # the setting took effect


# ---------------------------------------------------------------- analytic cases
def test_triangle_barycentrics_at_known_pixels():
    # A triangle in the plane z = 2, seen by an orthographic camera (NDC x, y = world x, y).
    verts = torch.tensor([[0.5, -0.5, 2.0], [-0.5, -0.5, 2.0], [0.0, 0.5, 2.0]])
    mesh = Meshes(verts=[verts], faces=[torch.tensor([[0, 1, 2]])])
    fragments = rasterize(mesh, ndc_camera(), image_size=8)
    size = 8
    for row, col in [(4, 3), (5, 4), (3, 4), (6, 2)]:
        x, y = pixel_centre(row, col, size)
        # Solve p = w0 v0 + w1 v1 + w2 v2 with w0 + w1 + w2 = 1 by hand.
        a = torch.tensor(
            [[0.5, -0.5, 0.0], [-0.5, -0.5, 0.5], [1.0, 1.0, 1.0]], dtype=torch.float64
        )
        expected = torch.linalg.solve(a, torch.tensor([x, y, 1.0], dtype=torch.float64)).float()
        inside = bool((expected > 0).all())
        assert (fragments.pix_to_face[0, row, col, 0] == 0) == inside
        if inside:
            torch.testing.assert_close(fragments.bary_coords[0, row, col, 0], expected)
            assert fragments.zbuf[0, row, col, 0].item() == pytest.approx(2.0)
            assert fragments.dists[0, row, col, 0] < 0  # inside: negative distance


def test_square_covers_exactly_its_pixels():
    # The square [-0.5, 0.5] x [-0.49, 0.51] (two triangles) covers the middle 4 x 4 pixels
    # of 8 x 8: pixel centres sit at ±0.125, ±0.375 (inside) and ±0.625, ±0.875 (outside).
    # (Its diagonal misses every pixel centre: a centre exactly on an edge shared by two
    # faces belongs to neither, in PyTorch3D as here.)
    verts = torch.tensor(
        [[-0.5, -0.49, 1.5], [0.5, -0.49, 1.5], [0.5, 0.51, 1.5], [-0.5, 0.51, 1.5]]
    )
    faces = torch.tensor([[0, 2, 1], [0, 3, 2]])
    fragments = rasterize(Meshes([verts], [faces]), ndc_camera(), image_size=8)
    covered = fragments.pix_to_face[0, :, :, 0] >= 0
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[2:6, 2:6] = True
    assert torch.equal(covered, expected)
    # Non-square images: the shorter side spans [-1, 1], so the square stays square in
    # pixels and centred.
    wide = rasterize(Meshes([verts], [faces]), ndc_camera(), image_size=(8, 16))
    covered = wide.pix_to_face[0, :, :, 0] >= 0
    expected = torch.zeros(8, 16, dtype=torch.bool)
    expected[2:6, 6:10] = True
    assert torch.equal(covered, expected)


def test_depth_of_a_tilted_plane_under_perspective():
    # The plane z = 3 + 0.5 y seen from the origin: along the ray through NDC (x, y) of a
    # 90-degree FoV camera, view points are (-x z, y z, z), so z = 3 + 0.5 y z.
    verts = torch.tensor(
        [[-10.0, -4.0, 1.0], [10.0, -4.0, 1.0], [10.0, 8.0, 7.0], [-10.0, 8.0, 7.0]]
    )
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    cameras = renderer.FoVPerspectiveCameras(fov=90.0)
    fragments = rasterize(Meshes([verts], [faces]), cameras, image_size=16)
    assert (fragments.pix_to_face[0, :, :, 0] >= 0).all()  # the plane fills the view
    for row, col in [(0, 0), (3, 12), (8, 8), (15, 2)]:
        _, y = pixel_centre(row, col, 16)
        expected = 3.0 / (1 - 0.5 * y)  # z = 3 + 0.5 * (y z)
        assert fragments.zbuf[0, row, col, 0].item() == pytest.approx(expected, rel=1e-5)


def test_perspective_corrected_barycentrics_interpolate_in_3d():
    # With perspective correction, interpolating the 3-D corners with the barycentrics
    # gives the point of the face seen through the pixel: it projects back to the pixel.
    verts = torch.tensor([[-1.0, -1.0, 2.0], [1.5, -1.0, 4.0], [0.0, 1.5, 6.0]])
    mesh = Meshes([verts], [torch.tensor([[0, 1, 2]])])
    cameras = renderer.FoVPerspectiveCameras(fov=60.0)
    fragments = rasterize(mesh, cameras, image_size=32)
    hit = fragments.pix_to_face[0, :, :, 0] >= 0
    rows, cols = torch.nonzero(hit, as_tuple=True)
    points = fragments.bary_coords[0, rows, cols, 0] @ verts  # (P, 3) on the face
    screen = cameras.transform_points_screen(points, image_size=((32, 32),))
    torch.testing.assert_close(screen[:, 0], cols.float() + 0.5, atol=1e-3, rtol=0)
    torch.testing.assert_close(screen[:, 1], rows.float() + 0.5, atol=1e-3, rtol=0)
    torch.testing.assert_close(points[:, 2], fragments.zbuf[0, rows, cols, 0], atol=1e-4, rtol=0)


def test_nearest_faces_come_first_and_culling_skips_back_faces():
    near = torch.tensor([[0.5, -0.5, 2.0], [-0.5, -0.5, 2.0], [0.0, 0.5, 2.0]])
    far = near + torch.tensor([0.0, 0.0, 1.0])
    mesh = Meshes([torch.cat([far, near])], [torch.tensor([[0, 1, 2], [3, 4, 5]])])
    fragments = rasterize(mesh, ndc_camera(), image_size=8, faces_per_pixel=3)
    centre = fragments.pix_to_face[0, 4, 3]
    assert centre.tolist() == [1, 0, -1]
    assert fragments.zbuf[0, 4, 3].tolist() == pytest.approx([2.0, 3.0, -1.0])
    # The same faces wound the other way are back faces: culled when asked.
    flipped = Meshes([torch.cat([far, near])], [torch.tensor([[0, 2, 1], [3, 5, 4]])])
    culled = rasterize(flipped, ndc_camera(), image_size=8, faces_per_pixel=3, cull_backfaces=True)
    kept = rasterize(mesh, ndc_camera(), image_size=8, faces_per_pixel=3, cull_backfaces=True)
    assert (culled.pix_to_face == -1).all() != (kept.pix_to_face == -1).all()


def test_blur_radius_reaches_pixels_near_the_edge():
    verts = torch.tensor([[0.5, -0.5, 2.0], [-0.5, -0.5, 2.0], [0.0, 0.5, 2.0]])
    mesh = Meshes([verts], [torch.tensor([[0, 1, 2]])])
    hard = rasterize(mesh, ndc_camera(), image_size=16)
    blur = 0.01  # squared NDC distance: pixels up to 0.1 from the triangle
    soft = rasterize(mesh, ndc_camera(), image_size=16, blur_radius=blur)
    extra = (soft.pix_to_face[..., 0] >= 0) & (hard.pix_to_face[..., 0] < 0)
    assert extra.any()
    dists = soft.dists[..., 0][extra]
    assert ((dists > 0) & (dists < blur)).all()
    # Clipped barycentrics of outside pixels stay in the triangle.
    bary = soft.bary_coords[..., 0, :][extra]
    assert (bary >= 0).all()
    torch.testing.assert_close(bary.sum(-1), torch.ones(len(bary)))


def test_a_face_crossing_the_camera_plane_is_cut_not_distorted():
    # A floor y = -1 running from behind the camera (z = -5) to far ahead (z = 20). The
    # part in front of the camera fills the lower half of the image; each pixel sees the
    # floor where its ray meets it: z = -1 / y_view_per_z.
    verts = torch.tensor(
        [[-20.0, -1.0, -5.0], [20.0, -1.0, -5.0], [20.0, -1.0, 20.0], [-20.0, -1.0, 20.0]]
    )
    faces = torch.tensor([[0, 2, 1], [0, 3, 2]])
    cameras = renderer.FoVPerspectiveCameras(fov=90.0)  # znear 1: faces are cut at z = 0.5
    fragments = rasterize(Meshes([verts], [faces]), cameras, image_size=32)
    covered = fragments.pix_to_face[0, :, :, 0] >= 0
    assert not covered[:16].any()  # nothing above the horizon
    assert covered[24:, 8:24].all()  # the floor right below the camera is seen
    rows, cols = torch.nonzero(covered, as_tuple=True)
    y = 1 - (2 * rows.float() + 1) / 32
    expected = 1.0 / -y  # the ray (.., y z, z) meets y = -1 at z = -1 / y
    torch.testing.assert_close(fragments.zbuf[0, rows, cols, 0], expected, rtol=1e-4, atol=1e-4)
    # Faces and barycentrics refer to the original faces: the 3-D point lies on the floor.
    points = torch.einsum(
        "pk,pkc->pc",
        fragments.bary_coords[0, rows, cols, 0],
        verts[faces][fragments.pix_to_face[0, rows, cols, 0]],
    )
    torch.testing.assert_close(points[:, 1], torch.full_like(points[:, 1], -1.0), atol=1e-4, rtol=0)
    torch.testing.assert_close(points[:, 2], expected, rtol=1e-4, atol=1e-4)


def test_batches_of_meshes_and_cameras_match_single_renders():
    meshes = structures.join_meshes_as_batch([utils.ico_sphere(2), utils.torus(0.3, 0.8, 12, 24)])
    R, T = renderer.look_at_view_transform(dist=3.0, elev=[20.0, -30.0], azim=[40.0, 200.0])
    both = rasterize(
        meshes, renderer.FoVPerspectiveCameras(R=R, T=T), image_size=32, faces_per_pixel=2
    )
    offset = meshes.num_faces_per_mesh()[0]
    for n in range(2):
        single = rasterize(
            meshes[n],
            renderer.FoVPerspectiveCameras(R=R[n : n + 1], T=T[n : n + 1]),
            image_size=32,
            faces_per_pixel=2,
        )
        expected = torch.where(
            single.pix_to_face >= 0, single.pix_to_face + n * offset, single.pix_to_face
        )
        assert torch.equal(both.pix_to_face[n : n + 1], expected)
        torch.testing.assert_close(both.zbuf[n : n + 1], single.zbuf)


# ---------------------------------------------------------------- gradients
@pytest.mark.builtin_only(
    reason="float64 finite differences; PyTorch3D's FoV projection and kernels are float32"
)
def test_gradients_match_finite_differences():
    # A small scene in float64; the selection does not change under tiny moves, so the
    # outputs are smooth functions of the vertices there.
    torch.manual_seed(0)
    verts = torch.tensor(
        [[0.6, -0.5, 2.0], [-0.5, -0.6, 2.5], [0.1, 0.6, 3.0], [0.7, 0.4, 2.2]], dtype=torch.float64
    )
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    R = torch.eye(3, dtype=torch.float64)[None]
    T = torch.zeros(1, 3, dtype=torch.float64)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T, fov=60.0)
    weights = torch.rand(3, 12, 12, 2, dtype=torch.float64)
    bary_weights = torch.rand(12, 12, 2, 3, dtype=torch.float64)

    def loss(v):
        f = rasterize(
            Meshes([v], [faces]), cameras, image_size=12, faces_per_pixel=2, blur_radius=0.02
        )
        valid = f.pix_to_face[0] >= 0
        return (
            (weights[0] * f.zbuf[0] * valid).sum()
            + (weights[1] * f.dists[0] * valid).sum()
            + (bary_weights * f.bary_coords[0] * valid[..., None]).sum()
        )

    v = verts.clone().requires_grad_(True)
    loss(v).backward()
    numeric = torch.zeros_like(verts)
    h = 1e-6
    for i in range(4):
        for j in range(3):
            plus, minus = verts.clone(), verts.clone()
            plus[i, j] += h
            minus[i, j] -= h
            numeric[i, j] = (loss(plus) - loss(minus)) / (2 * h)
    assert v.grad.abs().sum() > 0
    torch.testing.assert_close(v.grad, numeric, rtol=1e-4, atol=1e-4)


def test_soft_silhouette_gradient_step_grows_the_silhouette():
    # One gradient step on "maximise coverage" must increase the coverage: the soft
    # rasterizer's distances carry a useful gradient at the outline.
    sphere = utils.ico_sphere(2)
    R, T = renderer.look_at_view_transform(dist=3.0)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T)
    sigma = 1e-4

    def coverage(v):
        fragments = rasterize(
            Meshes([v], [sphere.faces_packed()]),
            cameras,
            image_size=32,
            blur_radius=math.log(1 / 1e-4 - 1) * sigma,
            faces_per_pixel=10,
        )
        prob = torch.sigmoid(-fragments.dists / sigma) * (fragments.pix_to_face >= 0)
        return (1 - torch.prod(1 - prob, dim=-1)).sum()

    verts = sphere.verts_packed().clone().requires_grad_(True)
    before = coverage(verts)
    before.backward()
    assert verts.grad.abs().sum() > 0
    after = coverage(verts.detach() + 1e-3 * verts.grad / verts.grad.abs().max())
    assert after > before


# ---------------------------------------------------------------- the built-in implementation
@pytest.mark.builtin_only
def test_chunking_does_not_change_the_result(monkeypatch):
    # the module, not the function of the same name that the package exports (as PyTorch3D)
    module = importlib.import_module("course_utils.p3d.builtin.renderer.mesh.rasterize_meshes")

    mesh = utils.ico_sphere(3)
    R, T = renderer.look_at_view_transform(dist=2.5, elev=30, azim=45)
    cameras = renderer.FoVPerspectiveCameras(R=R, T=T)
    settings = dict(image_size=48, faces_per_pixel=3, blur_radius=1e-3)
    whole = rasterize(mesh, cameras, **settings)
    monkeypatch.setattr(module, "CHUNK_PAIRS", 500)  # dozens of chunks, with reductions
    chunked = rasterize(mesh, cameras, **settings)
    assert torch.equal(whole.pix_to_face, chunked.pix_to_face)
    torch.testing.assert_close(whole.zbuf, chunked.zbuf)


def test_backend_is_known():
    assert BACKEND in ("torch", "pytorch3d")
