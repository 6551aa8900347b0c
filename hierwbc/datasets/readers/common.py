"""What every reader shares: listing image files (dot-files and non-images recorded, never
silently skipped) and the reader-argument defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from hierwbc.hierarchy import Hierarchy, default_hierarchy

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp"})
IGNORED_FOLDERS = frozenset({"__MACOSX"})


def skipped(path: str, reason: str, detail: str, raw_label: str = "") -> dict:
    return {"reason": reason, "path": path, "raw_label": raw_label, "detail": detail}


def scan_images(folder: str | os.PathLike, recursive: bool = False) -> tuple[list[str], list[dict]]:
    """Absolute paths of the image files in ``folder`` (sorted; below it too with
    ``recursive``), and one record per entry left out: ``dot_file`` (names starting with
    ``.``, e.g. ``.DS_Store``), ``not_image_file`` (other extensions), ``subfolder``
    (folders, when not recursive)."""
    images: list[str] = []
    records: list[dict] = []
    stack = [os.path.abspath(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for e in entries:
                if e.name.startswith("."):
                    records.append(skipped(e.path, "dot_file", "hidden file or folder skipped"))
                elif e.is_dir():
                    if recursive and e.name not in IGNORED_FOLDERS:
                        stack.append(e.path)
                    else:
                        records.append(skipped(e.path, "subfolder", "folder inside a class folder skipped"))
                elif os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS:
                    images.append(e.path)
                else:
                    records.append(skipped(e.path, "not_image_file",
                                           f"extension {os.path.splitext(e.name)[1] or '(none)'!r} is not an image"))
    return sorted(images), sorted(records, key=lambda r: r["path"])


def class_folders(root: Path) -> tuple[list[Path], list[dict]]:
    """Sub-folders of ``root`` that name classes (sorted), and records of what was left out."""
    folders, records = [], []
    for p in sorted(root.iterdir()):
        if p.name.startswith("."):
            records.append(skipped(str(p), "dot_file", "hidden file or folder skipped"))
        elif p.is_dir() and p.name not in IGNORED_FOLDERS:
            folders.append(p)
        elif p.is_dir():
            records.append(skipped(str(p), "subfolder", f"{p.name} folder skipped"))
        else:
            records.append(skipped(str(p), "not_in_class_folder", "file outside any class folder skipped"))
    return folders, records


def class_folder_images(root: Path, recursive: bool = False) -> tuple[pd.DataFrame, list[dict]]:
    """Every image of ``root``'s class folders (:func:`class_folders`, :func:`scan_images`), as a
    frame ``path, folder`` (the class folder's name), and records of what was left out."""
    folders, records = class_folders(root)
    paths, folder_of = [], []
    for folder in folders:
        images, left_out = scan_images(folder, recursive=recursive)
        paths += images
        folder_of += [folder.name] * len(images)
        records += left_out
    return pd.DataFrame({"path": paths, "folder": folder_of}), records


def has_class_folders(path: Path) -> bool:
    """Whether ``path`` holds at least one non-hidden sub-folder with an image file in it."""
    for sub in path.iterdir():
        if sub.is_dir() and not sub.name.startswith(".") and sub.name not in IGNORED_FOLDERS:
            with os.scandir(sub) as entries:
                if any(e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS for e in entries):
                    return True
    return False


def hierarchy_or_default(hierarchy: Hierarchy | None) -> Hierarchy:
    return default_hierarchy() if hierarchy is None else hierarchy
