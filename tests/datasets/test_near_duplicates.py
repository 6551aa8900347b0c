"""Near-duplicate crops: the FFT masked correlation against a naive loop over shifts, and the
same cell found in shifted crops while different cells are not joined."""

import numpy as np
import pandas as pd
from PIL import Image

from hierwbc.datasets.duplicates import cell_groups
from hierwbc.datasets.near_duplicates import join, masked_correlation, same_cell_pairs


def _naive(a, ma, b, mb, min_overlap):
    s = a.shape[0]
    best = -1.0
    for dy in range(-s + 1, s):
        for dx in range(-s + 1, s):
            # b shifted by (dy, dx) relative to a: a[y, x] meets b[y + dy, x + dx]
            ys, xs = slice(max(0, -dy), min(s, s - dy)), slice(max(0, -dx), min(s, s - dx))
            yb, xb = slice(max(0, dy), min(s, s + dy)), slice(max(0, dx), min(s, s + dx))
            m = (ma[ys, xs] * mb[yb, xb]) > 0
            if m.sum() < min_overlap * s * s:
                continue
            x, y = a[ys, xs][m], b[yb, xb][m]
            x, y = x - x.mean(), y - y.mean()
            den = np.sqrt(max((x * x).sum(), 1e-6) * max((y * y).sum(), 1e-6))
            best = max(best, float((x * y).sum() / den))
    return best


def test_masked_correlation_equals_naive_loop_over_shifts():
    rng = np.random.default_rng(0)
    grey = rng.random((4, 7, 7)).astype(np.float32)
    valid = (rng.random((4, 7, 7)) > 0.15).astype(np.float32)
    grey[1] = np.roll(grey[0], 2, axis=1)  # a shifted copy
    i, j = np.array([0, 0, 2, 1]), np.array([1, 2, 3, 3])
    got = masked_correlation(grey, valid, i, j, min_overlap=0.5)
    want = [_naive(grey[a], valid[a], grey[b], valid[b], 0.5) for a, b in zip(i, j)]
    assert np.allclose(got, want, atol=1e-4)


def test_shifted_crops_of_one_field_are_one_cell_and_other_fields_are_not(tmp_path, monkeypatch):
    monkeypatch.setenv("HIERWBC_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(1)
    rows = []
    for field in range(2):
        big = (rng.random((12, 12)) * 255).astype(np.uint8)
        big = np.asarray(Image.fromarray(big).resize((240, 240), Image.BILINEAR))  # smooth texture
        for k, off in enumerate((0, 12, 30)):
            p = tmp_path / f"f{field}_{k}.png"
            Image.fromarray(np.repeat(big[off:off + 160, off:off + 160, None], 3, 2)).save(p)
            rows.append({"path": str(p), "field": field})
    frame = pd.DataFrame(rows)
    pairs = same_cell_pairs(frame, progress=False)
    joined = {tuple(p) for p in pairs.tolist()}
    assert joined == {(0, 1), (0, 2), (1, 2), (3, 4), (3, 5), (4, 5)}
    assert (same_cell_pairs(frame, progress=False) == pairs).all()  # read back from the cache
    names = join(frame, pairs, prefix="x:")
    assert names.tolist() == ["x:0"] * 3 + ["x:3"] * 3


def test_cell_groups_join_content_and_group_column(tmp_path):
    a, b, c = (tmp_path / n for n in "abc")
    a.write_bytes(b"same")
    b.write_bytes(b"same")    # identical to a
    c.write_bytes(b"other")
    d = tmp_path / "d"
    d.write_bytes(b"fourth")
    df = pd.DataFrame({"path": [str(c), str(a), str(b), str(d)], "group": ["g1", "", "g1", ""]})
    # c ~ b by group, b ~ a by content: one component {0, 1, 2}; d alone
    assert cell_groups(df).tolist() == [0, 0, 0, 3]
    assert cell_groups(df.drop(columns="group")).tolist() == [0, 1, 1, 3]
