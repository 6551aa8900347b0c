"""Image decoding: every PIL mode to RGB uint8 with hand-computed values; bad files give named errors."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hierwbc.datasets import ImageError, ValidationError, load_image, validate


def save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


# ---------------------------------------------------------------- modes with exact values
def test_rgb_png_round_trip(tmp_path):
    a = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 7
    out = load_image(save(Image.fromarray(a), tmp_path / "x.png"))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out, a)


def test_greyscale_repeats_channels(tmp_path):
    g = np.array([[0, 17, 255]], dtype=np.uint8)
    out = load_image(save(Image.fromarray(g), tmp_path / "g.png"))
    np.testing.assert_array_equal(out, np.stack([g, g, g], axis=-1))


def test_bilevel(tmp_path):
    im = Image.new("1", (2, 1))
    im.putpixel((1, 0), 1)
    out = load_image(save(im, tmp_path / "b.png"))
    assert out[0].tolist() == [[0, 0, 0], [255, 255, 255]]


def test_rgba_composited_on_white(tmp_path):
    px = [(200, 100, 50, 255), (200, 100, 50, 0), (200, 100, 50, 128), (0, 0, 0, 64)]
    im = Image.new("RGBA", (4, 1))
    for i, p in enumerate(px):
        im.putpixel((i, 0), p)
    out = load_image(save(im, tmp_path / "a.png"))
    expected = [[round((c * p[3] + 255 * (255 - p[3])) / 255) for c in p[:3]] for p in px]
    assert out[0].tolist() == expected
    assert expected[1] == [255, 255, 255] and expected[2] == [227, 177, 152]


def test_la_composited_on_white(tmp_path):
    im = Image.new("LA", (2, 1))
    im.putpixel((0, 0), (10, 255))
    im.putpixel((1, 0), (10, 51))
    out = load_image(save(im, tmp_path / "la.png"))
    assert out[0].tolist() == [[10] * 3, [round((10 * 51 + 255 * 204) / 255)] * 3]


def test_cmyk(tmp_path):
    im = Image.new("CMYK", (3, 1))
    im.putpixel((0, 0), (255, 0, 0, 0))      # pure cyan
    im.putpixel((1, 0), (0, 0, 0, 128))      # grey: (255-0)*(255-128)/255 = 127
    im.putpixel((2, 0), (0, 255, 51, 0))     # R 255, G 0, B (255-51) = 204
    out = load_image(save(im, tmp_path / "c.tif"))
    assert out[0].tolist() == [[0, 255, 255], [127, 127, 127], [255, 0, 204]]


@pytest.mark.parametrize("suffix", ["png", "tif"])
def test_16bit_scaled_not_clipped(tmp_path, suffix):
    v = np.array([[0, 257, 1000, 32768, 65535]], dtype=np.uint16)
    im = Image.fromarray(v)
    assert im.mode == "I;16"
    out = load_image(save(im, tmp_path / f"s.{suffix}"))
    expected = [0, 1, 4, 128, 255]  # round(v * 255 / 65535): 1000 -> 3.89 -> 4 (a clip would give 255)
    assert out[0, :, 0].tolist() == expected and (out[..., 0] == out[..., 2]).all()


def test_32bit_int_in_16bit_range(tmp_path):
    im = Image.fromarray(np.array([[0, 65535, 1000]], dtype=np.int32))
    assert im.mode == "I"
    assert load_image(save(im, tmp_path / "i.tif"))[0, :, 1].tolist() == [0, 255, 4]


def test_palette_with_and_without_transparency(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    im.putpixel((1, 0), 1)
    assert load_image(save(im, tmp_path / "p.png"))[0].tolist() == [[10, 20, 30], [200, 100, 50]]
    out = load_image(save(im, tmp_path / "pt.png", transparency=1))
    assert out[0].tolist() == [[10, 20, 30], [255, 255, 255]]


def test_exif_orientation_applied(tmp_path):
    a = np.zeros((2, 3, 3), dtype=np.uint8)
    a[0, 0] = [255, 0, 0]                       # red at top-left of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = 6                            # "rotate 90 CW to display"
    out = load_image(save(Image.fromarray(a), tmp_path / "e.png", exif=exif))
    assert out.shape == (3, 2, 3)
    np.testing.assert_array_equal(out, np.rot90(a, k=-1))   # top-left goes to top-right
    assert out[0, 1].tolist() == [255, 0, 0]


def test_crop_box_applied_and_clamped(tmp_path):
    a = np.arange(5 * 4 * 3, dtype=np.uint8).reshape(5, 4, 3)
    p = save(Image.fromarray(a), tmp_path / "x.png")
    np.testing.assert_array_equal(load_image(p, (1, 2, 3, 5)), a[2:5, 1:3])
    np.testing.assert_array_equal(load_image(p, (-3, -1, 10, 2)), a[0:2, 0:4])   # crosses the border
    np.testing.assert_array_equal(load_image(p, (0, 0, 4, 5)), a)                # touches every border
    np.testing.assert_array_equal(load_image(p, (np.nan,) * 4), a)
    with pytest.raises(ImageError, match="does not overlap") as e:
        load_image(p, (4, 0, 9, 5))
    assert e.value.kind == "bad_box" and str(p) in str(e.value)


# ---------------------------------------------------------------- bad files
def _jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.parametrize("keep", [300, 2000, -10])   # inside the header, in the scan, last bytes lost
def test_truncated_jpeg(tmp_path, keep):
    p = tmp_path / "cut.jpg"
    p.write_bytes(_jpeg_bytes()[:keep])
    with pytest.raises(ImageError) as e:
        load_image(p)
    assert e.value.kind == "truncated" and str(p) in str(e.value) and "truncated" in str(e.value)


def test_zero_bytes(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageError, match="0 bytes") as e:
        load_image(p)
    assert e.value.kind == "empty" and e.value.path == str(p)


def test_text_named_jpg(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("these are not pixels\n")
    with pytest.raises(ImageError, match="text") as e:
        load_image(p)
    assert e.value.kind == "not_image" and str(p) in str(e.value)


def test_missing_file(tmp_path):
    p = tmp_path / "nowhere.jpg"
    with pytest.raises(ImageError, match="does not exist") as e:
        load_image(p)
    assert e.value.kind == "missing" and str(p) in str(e.value)


def test_unsupported_mode(tmp_path):
    p = save(Image.fromarray(np.zeros((2, 2), np.float32)), tmp_path / "f.tif")
    with pytest.raises(ImageError, match="unsupported image mode 'F'") as e:
        load_image(p)
    assert e.value.kind == "unsupported_mode"


# ---------------------------------------------------------------- validate
def _manifest(paths, boxes=None):
    df = pd.DataFrame({"path": [str(p) for p in paths], "dataset": "t", "raw_label": "x", "node": "wbc",
                       "split": "", "fold": -1})
    if boxes is not None:
        for i, c in enumerate(("box_xmin", "box_ymin", "box_xmax", "box_ymax")):
            df[c] = [b[i] for b in boxes]
    return df


def test_validate_lists_every_bad_file(tmp_path):
    good = save(Image.new("RGB", (8, 8)), tmp_path / "good.png")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "text.jpg"
    text.write_text("hello")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(_jpeg_bytes()[:500])
    missing = tmp_path / "missing.jpg"
    nan = (np.nan,) * 4
    df = _manifest([good, empty, text, cut, missing, good],
                   boxes=[nan, nan, nan, nan, nan, (20, 20, 30, 30)])
    report = validate(df, progress=False, errors="report")
    assert report.n_checked == 6 and not report.ok
    got = dict(zip(report.failures["row"], report.failures["kind"]))
    assert got == {1: "empty", 2: "not_image", 3: "truncated", 4: "missing", 5: "bad_box"}
    with pytest.raises(ValidationError) as e:
        validate(df, progress=False)
    for p in (empty, text, cut, missing):
        assert str(p) in str(e.value)
    assert len(e.value.report.failures) == 5


def test_validate_ok(tmp_path):
    df = _manifest([save(Image.new("L", (4, 4)), tmp_path / f"{i}.png") for i in range(5)])
    report = validate(df, progress=False, workers=2)
    assert report.ok and report.n_checked == 5 and "all 5" in str(report)
