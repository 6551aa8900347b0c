"""Image decoding to RGB ``uint8 [H, W, 3]`` with PIL, :func:`square_resize` to the square a
model takes, and :func:`validate` over a manifest.

Every mode PIL opens becomes RGB the same way: EXIF orientation applied first; ``L``/``1``/
``P``/``YCbCr``/``HSV``/``CMYK`` through PIL's conversion (CMYK: ``R = (255-C)(255-K)/255``); alpha
(``RGBA``, ``LA``, ``PA``, palette transparency) composited on white,
``out = round((a*c + (255-a)*255) / 255)``; 16-bit greyscale (``I;16*``, and ``I`` holding
0..65535) scaled ``round(v * 255 / 65535)``, never clipped. Anything else is an
:class:`ImageError` naming the file and the reason.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

from .duplicates import duplicate_table
from .manifest import boxes

Image.MAX_IMAGE_PIXELS = None  # whole-slide tiles are legitimate input; size is not an error here

_VIA_RGBA = {"RGBA", "LA", "PA", "RGBa", "La"}
_VIA_PIL = {"RGB", "L", "1", "P", "CMYK", "YCbCr", "HSV", "RGBX"}


class ImageError(OSError):
    """An image that cannot be decoded. ``path``, ``kind`` (``missing``, ``empty``,
    ``not_image``, ``truncated``, ``unsupported_mode``, ``bad_box``, ``unreadable``) and
    ``reason`` (words); the message is ``"<path>: <reason>"``."""

    def __init__(self, path: str | os.PathLike, kind: str, reason: str):
        self.path, self.kind, self.reason = str(path), kind, reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        return type(self), (self.path, self.kind, self.reason)


def _sniff(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(64)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"starts with bytes {head[:16]!r}"
    return f"the file holds text ({text[:40]!r}...)" if text.isprintable() or "\n" in text else \
        f"starts with bytes {head[:16]!r}"


def _to_rgb(im: Image.Image, path: str) -> np.ndarray:
    mode = im.mode
    if mode == "P" and "transparency" in im.info:
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in _VIA_RGBA:
        a = np.asarray(im.convert("RGBA"), dtype=np.uint32)
        alpha = a[..., 3:4]
        return ((a[..., :3] * alpha + (255 - alpha) * 255 + 127) // 255).astype(np.uint8)
    if mode in _VIA_PIL:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)
    if mode.startswith("I;16") or mode == "I":
        v = np.asarray(im).astype(np.int64)
        if v.size and (v.min() < 0 or v.max() > 65535):
            raise ImageError(path, "unsupported_mode", f"32-bit integer image (mode {mode!r}) with values "
                             f"{v.min()}..{v.max()} outside the 16-bit range 0..65535")
        grey = ((v * 255 + 32767) // 65535).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    raise ImageError(path, "unsupported_mode", f"unsupported image mode {mode!r} (supported: RGB, L, 1, P, "
                     "CMYK, YCbCr, HSV, RGBA, LA, PA, I;16, I)")


def _crop(rgb: np.ndarray, box, path: str) -> np.ndarray:
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (float(b) for b in box)
    cx0, cy0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    cx1, cy1 = min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
    if cx1 <= cx0 or cy1 <= cy0:
        raise ImageError(path, "bad_box", f"crop box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) does not overlap "
                         f"the {w}x{h} image")
    return rgb[cy0:cy1, cx0:cx1]


def load_image(path: str | os.PathLike, box=None) -> np.ndarray:
    """Decode one image to RGB ``uint8 [H, W, 3]``; ``box = (xmin, ymin, xmax, ymax)``.

    The box is in pixels of the EXIF-oriented image, 0-based, end exclusive; it is clamped to
    the image (boxes may touch or cross the border) and must overlap it. ``None`` or NaNs =
    whole image. Raises :class:`ImageError` naming the file and the reason.
    """
    path = os.fspath(path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise ImageError(path, "missing", "file does not exist") from None
    except OSError as e:
        raise ImageError(path, "unreadable", f"cannot read the file ({e.strerror or e})") from None
    if os.path.isdir(path):
        raise ImageError(path, "unreadable", "is a folder, not an image file")
    if size == 0:
        raise ImageError(path, "empty", "empty file (0 bytes)")
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
    except UnidentifiedImageError:
        raise ImageError(path, "not_image", f"not an image PIL can identify: {_sniff(path)}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        msg = str(e)
        cut = isinstance(e, EOFError) or any(w in msg.lower() for w in ("truncated", "premature", "end of file"))
        kind = "truncated" if cut else "unreadable"
        what = "truncated or incomplete image data" if kind == "truncated" else "corrupt image data"
        raise ImageError(path, kind, f"{what} ({type(e).__name__}: {msg})") from None
    rgb = _to_rgb(im, path)
    if box is not None and not np.isnan(np.asarray(box, dtype=float)).all():
        rgb = _crop(rgb, box, path)
    return np.ascontiguousarray(rgb)


def square_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """Shorter side to ``size`` (bicubic, antialiased), then the centre ``size x size`` crop.

    ``rgb``: uint8 [H, W, 3] -> uint8 [size, size, 3].
    """
    h, w = rgb.shape[:2]
    if (h, w) != (size, size):
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        rgb = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.BICUBIC))
        top, left = (nh - size) // 2, (nw - size) // 2
        rgb = rgb[top : top + size, left : left + size]
    return rgb if rgb.flags.c_contiguous and rgb.flags.writeable else np.array(rgb, order="C")


@dataclass
class ValidationReport:
    """What :func:`validate` found: ``n_checked`` rows, ``failures`` (one row per unreadable
    file or crop: ``path``, ``kind``, ``reason`` and the manifest index ``row``) and
    ``duplicates`` (one row per member of a group of byte-identical images: ``group``, ``row``,
    ``path``, ``sha256``; see :mod:`.duplicates`). Duplicates are reported, not failures:
    splits and folds keep them together."""

    n_checked: int
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["row", "path", "kind", "reason"]))
    duplicates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["group", "row", "path", "sha256"]))

    @property
    def n_duplicate_groups(self) -> int:
        return int(self.duplicates["group"].nunique())

    @property
    def ok(self) -> bool:
        return self.failures.empty

    def __str__(self) -> str:
        if self.ok:
            lines = [f"all {self.n_checked} images decode"]
        else:
            kinds = self.failures["kind"].value_counts().to_dict()
            lines = [f"{len(self.failures)} of {self.n_checked} images cannot be decoded ({kinds}):"]
            lines += [f"  {p}: {r}" for p, r in zip(self.failures["path"], self.failures["reason"])]
        if len(self.duplicates):
            lines.append(f"{self.n_duplicate_groups} group(s) of byte-identical images ({len(self.duplicates)} "
                         "files; splits and folds keep each group together):")
            lines += [f"  {' = '.join(map(str, g['path']))}" for _, g in self.duplicates.groupby("group")]
        return "\n".join(lines)


class ValidationError(ImageError):
    """Raised by :func:`validate` with ``errors="raise"``; ``report`` lists every bad file."""

    def __init__(self, report: ValidationReport):
        self.report = report
        Exception.__init__(self, str(report))
        self.path, self.kind, self.reason = "", "validation", str(report)

    def __reduce__(self):
        return type(self), (self.report,)


def _check(item) -> tuple[str, str] | None:
    path, box = item
    try:
        load_image(path, None if np.isnan(box).all() else box)
    except ImageError as e:
        return e.kind, e.reason
    return None


def validate(manifest: pd.DataFrame, progress: bool = True, workers: int | None = None,
             errors: str = "raise", duplicates: bool = True) -> ValidationReport:
    """Decode every row of ``manifest`` (with its crop box) on a thread pool, and (with
    ``duplicates``) find the groups of byte-identical images (``report.duplicates``).

    Returns a :class:`ValidationReport`; with ``errors="raise"`` (default) a report with
    failures is raised as :class:`ValidationError` instead, its message listing each
    unreadable file and the reason. Duplicates alone never raise.
    """
    if errors not in ("raise", "report"):
        raise ValueError(f"errors must be 'raise' or 'report', not {errors!r}")
    items = list(zip(manifest["path"].astype(str), boxes(manifest)))
    workers = workers or min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(tqdm(pool.map(_check, items), total=len(items),
                            desc="validating images", unit="img", disable=not progress))
    bad = [i for i, r in enumerate(results) if r is not None]
    failures = pd.DataFrame({"row": manifest.index[bad], "path": [items[i][0] for i in bad],
                             "kind": [results[i][0] for i in bad], "reason": [results[i][1] for i in bad]})
    report = ValidationReport(len(items), failures)
    if duplicates:
        report.duplicates = duplicate_table(manifest)
    if errors == "raise" and not report.ok:
        raise ValidationError(report)
    return report
