"""Built-in backend: several texture maps per mesh, sub-meshes, rectangle packing, and
``update_padded`` sharing the topology (known answers worked out by hand)."""

from __future__ import annotations

import pytest
import torch

from course_utils.p3d.builtin.renderer import TexturesAtlas, TexturesUV, TexturesVertex
from course_utils.p3d.builtin.renderer.mesh.rasterizer import Fragments
from course_utils.p3d.builtin.renderer.mesh.utils import (
    Rectangle,
    pack_rectangles,
    pack_unique_rectangles,
)
from course_utils.p3d.builtin.structures import Meshes


def _fragments(pix_to_face: list[int], bary: list[list[float]]) -> Fragments:
    """One image row of K=1 layers: pixel i sees face pix_to_face[i] at bary[i]."""
    P = len(pix_to_face)
    return Fragments(
        pix_to_face=torch.tensor(pix_to_face).view(1, 1, P, 1),
        zbuf=torch.ones(1, 1, P, 1),
        bary_coords=torch.tensor(bary).view(1, 1, P, 1, 3),
        dists=torch.zeros(1, 1, P, 1),
    )


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("sampling_mode", ["bilinear", "nearest"])
def test_each_face_reads_its_own_map(align_corners, sampling_mode):
    # Three constant-colour 2x2 maps; face f reads map maps_ids[f]. A constant map gives
    # its colour anywhere, so the texel is exactly that map's colour (no bleeding).
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    maps = colours[:, None, None, :].expand(3, 2, 2, 3)[None]  # (1, M=3, 2, 2, 3)
    verts_uvs = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    faces_uvs = torch.tensor([[[0, 1, 2], [1, 3, 2], [0, 1, 3]]])
    maps_ids = torch.tensor([[2, 0, 1]])
    tex = TexturesUV(
        maps=maps,
        faces_uvs=faces_uvs,
        verts_uvs=verts_uvs,
        maps_ids=maps_ids,
        align_corners=align_corners,
        sampling_mode=sampling_mode,
    )
    fragments = _fragments([0, 1, 2], [[0.2, 0.3, 0.5], [1 / 3, 1 / 3, 1 / 3], [0.6, 0.2, 0.2]])
    texels = tex.sample_textures(fragments)
    torch.testing.assert_close(texels[0, 0, :, 0], colours[[2, 0, 1]])
    torch.testing.assert_close(
        tex.faces_verts_textures_packed(), colours[[2, 0, 1], None].expand(3, 3, 3)
    )


def test_several_maps_sample_like_one_map_each():
    # With random maps, a face with maps_ids = m reads what a one-map texture of map m reads.
    generator = torch.Generator().manual_seed(0)
    maps = torch.rand(2, 3, 5, 4, 3, generator=generator)  # N=2, M=3, H=5, W=4
    verts_uvs = torch.rand(2, 6, 2, generator=generator)
    faces_uvs = torch.tensor([[[0, 1, 2], [3, 4, 5]], [[5, 4, 3], [2, 0, 1]]])
    maps_ids = torch.tensor([[1, 2], [0, 2]])
    multi = TexturesUV(maps=maps, faces_uvs=faces_uvs, verts_uvs=verts_uvs, maps_ids=maps_ids)
    got = multi.faces_verts_textures_packed()
    expected = []
    for n in range(2):
        for f in range(2):
            single = TexturesUV(
                maps=maps[n, maps_ids[n, f]][None],
                faces_uvs=faces_uvs[n, f][None, None],
                verts_uvs=verts_uvs[n][None],
            )
            expected.append(single.faces_verts_textures_packed())
    torch.testing.assert_close(got, torch.cat(expected), atol=1e-6, rtol=1e-6)
    # Views, indexing and copies keep the map indices.
    assert multi.maps_padded().shape == (2, 3, 5, 4, 3)
    torch.testing.assert_close(multi.maps_ids_padded(), maps_ids)
    torch.testing.assert_close(multi[1].maps_ids_padded(), maps_ids[1:])
    torch.testing.assert_close(multi.extend(2).maps_ids_padded(), maps_ids.repeat_interleave(2, 0))
    torch.testing.assert_close(multi.clone().faces_verts_textures_packed(), got)
    joined = multi.join_batch([multi[0]])
    torch.testing.assert_close(joined.maps_ids_padded(), torch.cat([maps_ids, maps_ids[:1]]))
    with pytest.raises(ValueError, match=r"maps must be \(N, M, H, W, C\)"):
        TexturesUV(maps=maps[:, 0], faces_uvs=faces_uvs, verts_uvs=verts_uvs, maps_ids=maps_ids)
    with pytest.raises(ValueError, match="several maps per mesh need maps_ids"):
        TexturesUV(maps=maps, faces_uvs=faces_uvs, verts_uvs=verts_uvs)
    with pytest.raises(ValueError, match="mesh 0 has 3 maps"):
        TexturesUV(maps=maps, faces_uvs=faces_uvs, verts_uvs=verts_uvs, maps_ids=maps_ids + 2)


def test_faces_uvs_values_are_checked_when_sampled():
    # As PyTorch3D, construction takes them; using them names the problem.
    maps = torch.ones(1, 4, 4, 3)
    out_of_range = TexturesUV(
        maps=maps, faces_uvs=torch.tensor([[[0, 1, 7]]]), verts_uvs=torch.rand(1, 3, 2)
    )
    with pytest.raises(ValueError, match=r"faces_uvs\[0\] refers to uv 7.*has 3 rows"):
        out_of_range.faces_verts_uvs_packed()
    fractional = TexturesUV(
        maps=maps, faces_uvs=torch.tensor([[[0.0, 1.5, 2.0]]]), verts_uvs=torch.rand(1, 3, 2)
    )
    with pytest.raises(ValueError, match="fractional"):
        fractional.faces_verts_textures_packed()
    whole = TexturesUV(
        maps=maps, faces_uvs=torch.tensor([[[0.0, 1.0, 2.0]]]), verts_uvs=torch.rand(1, 3, 2)
    )
    assert whole.faces_uvs_list()[0].dtype == torch.int64


def _two_squares() -> Meshes:
    # Mesh 0: a unit square (two faces); mesh 1: one triangle.
    verts0 = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    faces0 = torch.tensor([[0, 1, 2], [0, 2, 3]])
    verts1 = torch.tensor([[5.0, 0, 0], [6, 0, 0], [5, 1, 0]])
    faces1 = torch.tensor([[0, 1, 2]])
    return Meshes(verts=[verts0, verts1], faces=[faces0, faces1])


def test_submeshes_keep_used_vertices_and_renumber_faces():
    mesh = _two_squares()
    colours = [torch.arange(12.0).view(4, 3), torch.arange(9.0).view(3, 3)]
    mesh.textures = TexturesVertex(colours)
    sub = Meshes(verts=mesh.verts_list(), faces=mesh.faces_list(), textures=TexturesVertex(colours))
    parts = sub.submeshes([[torch.tensor([1]), torch.tensor([0, 1])], [torch.tensor([0])]])
    assert len(parts) == 3
    # Face 1 = (0, 2, 3) keeps vertices 0, 2, 3 -> renumbered (0, 1, 2).
    torch.testing.assert_close(parts.verts_list()[0], mesh.verts_list()[0][[0, 2, 3]])
    torch.testing.assert_close(parts.faces_list()[0], torch.tensor([[0, 1, 2]]))
    torch.testing.assert_close(parts.faces_list()[1], mesh.faces_list()[0])
    torch.testing.assert_close(parts.verts_list()[2], mesh.verts_list()[1])
    torch.testing.assert_close(parts.textures.verts_features_list()[0], colours[0][[0, 2, 3]])
    # A mesh may have no sub-mesh; the count of sets must match the batch.
    assert len(sub.submeshes([[], [torch.tensor([0])]])) == 1
    with pytest.raises(ValueError, match="exactly one set of submeshes"):
        sub.submeshes([[torch.tensor([0])]])


def test_submeshes_of_uv_and_atlas_textures_follow_the_faces():
    mesh = _two_squares()
    verts_uvs = [torch.rand(6, 2), torch.rand(3, 2)]
    faces_uvs = [torch.tensor([[0, 1, 2], [3, 4, 5]]), torch.tensor([[0, 1, 2]])]
    maps = [torch.rand(4, 4, 3), torch.rand(4, 4, 3)]
    uv = Meshes(mesh.verts_list(), mesh.faces_list(), TexturesUV(maps, faces_uvs, verts_uvs))
    sub = uv.submeshes([[torch.tensor([1])], [torch.tensor([0])]]).textures
    torch.testing.assert_close(sub.faces_uvs_list()[0], torch.tensor([[3, 4, 5]]))
    torch.testing.assert_close(sub.verts_uvs_list()[0], verts_uvs[0])
    torch.testing.assert_close(sub.maps_list()[1], maps[1])
    # The sub-mesh's corner colours are the original face's.
    before = uv.textures.faces_verts_textures_packed()
    torch.testing.assert_close(sub.faces_verts_textures_packed(), before[[1, 2]])
    atlas = [torch.rand(2, 3, 3, 3), torch.rand(1, 3, 3, 3)]
    at = Meshes(mesh.verts_list(), mesh.faces_list(), TexturesAtlas(atlas))
    sub_atlas = at.submeshes([[torch.tensor([1]), torch.tensor([0])], []]).textures
    torch.testing.assert_close(sub_atlas.atlas_list()[0], atlas[0][[1]])
    torch.testing.assert_close(sub_atlas.atlas_list()[1], atlas[0][[0]])


def test_update_padded_shares_topology_and_recomputes_geometry():
    mesh = _two_squares()
    mesh.verts_packed()
    mesh.edges_packed()
    new_verts = mesh.verts_padded() * 2.0
    new = mesh.update_padded(new_verts)
    assert new.faces_padded() is mesh.faces_padded()
    assert new.edges_packed() is mesh.edges_packed()
    assert new.verts_packed_to_mesh_idx() is mesh.verts_packed_to_mesh_idx()
    assert new.verts_padded() is new_verts
    torch.testing.assert_close(new.verts_list()[1], mesh.verts_list()[1] * 2.0)
    # Areas scale by 4 (geometry recomputed, not shared).
    torch.testing.assert_close(new.faces_areas_packed(), mesh.faces_areas_packed() * 4.0)
    with pytest.raises(ValueError, match="new_verts_padded must be"):
        mesh.update_padded(new_verts[:, :2])


def _check_layout(sizes, packed):
    """No overlap, inside the total size, and the total size is reached on both axes."""
    total_x, total_y = packed.total_size
    taken = torch.zeros(total_x, total_y, dtype=torch.int64)
    for (sx, sy), (x, y, flipped, first) in zip(sizes, packed.locations):
        assert first
        wx, wy = (sy, sx) if flipped else (sx, sy)
        assert x >= 0 and y >= 0 and x + wx <= total_x and y + wy <= total_y
        taken[x : x + wx, y : y + wy] += 1
    assert int(taken.max()) == 1
    assert bool(taken.any(dim=1).all()) and bool(taken.any(dim=0).all())


def test_pack_rectangles_known_layouts():
    # Two 3x4 rectangles: both lie flat (4 wide), one on top of the other: 4 x 6.
    packed = pack_rectangles([(3, 4), (4, 3)])
    assert packed.total_size == (4, 6)
    assert packed.locations[0].flipped and not packed.locations[1].flipped
    _check_layout([(3, 4), (4, 3)], packed)
    # A 3x3 square with three unit squares: two fit beside the second row's square.
    sizes = [(3, 3), (1, 1), (1, 1), (1, 1)]
    packed = pack_rectangles(sizes)
    assert packed.total_size == (3, 4)
    _check_layout(sizes, packed)
    # Nine 2x2 squares stack into one column.
    assert pack_rectangles([(2, 2)] * 9).total_size == (2, 18)
    generator = torch.Generator().manual_seed(1)
    sizes = [
        tuple(int(v) for v in row) for row in torch.randint(1, 18, (20, 2), generator=generator)
    ]
    _check_layout(sizes, pack_rectangles(sizes))
    with pytest.raises(ValueError, match="less than two"):
        pack_rectangles([(1, 2)])


def test_pack_unique_rectangles_shares_places():
    same = pack_unique_rectangles([Rectangle(5, 7, identifier=1)] * 3)
    assert same.total_size == (5, 7)
    assert [loc.is_first for loc in same.locations] == [True, False, False]
    two = pack_unique_rectangles([Rectangle(5, 7, 1), Rectangle(5, 7, 2), Rectangle(5, 7, 1)])
    assert two.total_size == (7, 10)  # both turned flat (7 wide), stacked
    assert two.locations[2]._replace(is_first=True) == two.locations[0]
    assert not two.locations[2].is_first


def test_pytorch3d_private_padded_names_read_and_replace_the_lists():
    maps = torch.rand(2, 4, 4, 3)
    tex = TexturesUV(
        maps=maps, faces_uvs=torch.zeros(2, 1, 3, dtype=torch.int64), verts_uvs=torch.rand(2, 3, 2)
    )
    torch.testing.assert_close(tex._maps_padded, maps)
    bigger = torch.rand(2, 8, 8, 3)
    tex._maps_padded = bigger  # code written for PyTorch3D replaces it like this
    torch.testing.assert_close(tex.maps_list()[1], bigger[1])
    assert tex._maps_ids_padded is None
