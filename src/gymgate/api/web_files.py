"""Which files under web/ the app serves: what the pages load, nothing of their build.

web/ also holds npm's package.json, package-lock.json and node_modules/ (from which
`make web-assets` copies the pinned scripts into web/vendor/). Served, they would tell anyone
the exact versions to attack and hand out code the pages never load. The static files router
reads web/ through `PagesOnly`, which reports everything else as missing, so it answers 404.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.file_system import BaseLocalFileSystem
from litestar.types import PathType
from litestar.types.file_types import FileInfo

__all__ = ["PAGE_FILE_SUFFIXES", "PagesOnly"]

# Pages, their styles and scripts (vendor/ included), icons and a web app manifest.
PAGE_FILE_SUFFIXES = frozenset(
    {".html", ".css", ".js", ".mjs", ".png", ".svg", ".ico", ".webp", ".webmanifest"}
)
_NEVER = frozenset({"node_modules"})


class PagesOnly(BaseLocalFileSystem):
    """The local file system, showing only page files under `root` (and the folders on the
    way to them, which html_mode turns into their index.html)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        found = await super().info(path, **kwargs)
        if not self.serves(Path(path), is_file=found["type"] == "file"):
            raise FileNotFoundError(path)
        return found

    def serves(self, path: Path, *, is_file: bool) -> bool:
        """Whether `path` (absolute, under root) is something the pages load."""
        if not path.is_relative_to(self.root):
            return False
        parts = path.relative_to(self.root).parts  # "..", like dot-files, is refused below
        if any(part in _NEVER or part.startswith(".") for part in parts):
            return False
        return not is_file or path.suffix.lower() in PAGE_FILE_SUFFIXES
