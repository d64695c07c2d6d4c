"""Install, update, inspect and remove the skill in one folder, never losing a file the user edited.

A manifest in the skill folder records the SHA-256 of every file as it was installed: a file
whose content no longer has that hash was edited by the user, and is left alone unless forced.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Mapping

import attrs

#: The manifest, in the skill folder: ``{"version": ..., "files": {path: sha256}}``.
MANIFEST = ".xpm-skill-manifest.json"


class InstallError(Exception):
    """The skill folder cannot be read or written."""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen
class Manifest:
    version: str
    files: dict[str, str]


@attrs.frozen
class Status:
    """The state of the skill in one folder, compared with the skill this installation has."""

    installed: bool
    #: Every file as this installation would write it, nothing else left over.
    current: bool = False
    #: Files the user changed since they were installed (or that were there before).
    edited: tuple[str, ...] = ()
    #: The xpm-skill version that installed it.
    version: str | None = None
    #: Not installed, but the folder holds files of the skill's names (written by someone else).
    foreign: bool = False

    def describe(self) -> str:
        if not self.installed:
            return "not installed (the folder holds other files)" if self.foreign else "not installed"
        if self.current:
            return "installed, current"
        if self.edited:
            return f"installed, edited ({', '.join(self.edited)})"
        return f"installed, outdated (written by xpm-skill {self.version})"


@attrs.frozen
class Outcome:
    """What ``install`` or ``uninstall`` did in one folder."""

    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    #: Files left alone because the user edited them (``force`` overwrites or removes them).
    kept: tuple[str, ...] = ()
    unchanged: int = 0


def read_manifest(folder: Path) -> Manifest | None:
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(version=str(data["version"]), files={str(k): str(v) for k, v in data["files"].items()})
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # A manifest we cannot read protects nothing: treat every file as the user's.
        raise InstallError(f"cannot read {path}: {exc}; delete it to let xpm install-skill start afresh") from exc


def _current_digest(path: Path) -> str | None:
    try:
        return digest(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnicodeDecodeError:
        return "binary"


def _edited(folder: Path, manifest: Manifest | None, relative: str, wanted: str | None) -> bool:
    """Whether the file on disk holds something the user wrote (so it must not be replaced)."""
    current = _current_digest(folder / relative)
    if current is None or current == wanted:
        return False
    recorded = manifest.files.get(relative) if manifest else None
    return current != recorded


def status(folder: Path, files: Mapping[str, str]) -> Status:
    """How the skill in ``folder`` compares with ``files``."""
    manifest = read_manifest(folder)
    if manifest is None:
        return Status(installed=False, foreign=any((folder / relative).exists() for relative in files))
    wanted = {relative: digest(text) for relative, text in files.items()}
    edited = tuple(
        sorted(
            relative
            for relative in set(manifest.files) | set(wanted)
            if _edited(folder, manifest, relative, wanted.get(relative))
        )
    )
    current = set(manifest.files) == set(wanted) and all(
        _current_digest(folder / relative) == value for relative, value in wanted.items()
    )
    return Status(installed=True, current=current, edited=edited, version=manifest.version)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)  # atomic: an assistant never reads half a file


def _wrap(folder: Path, action: str, exc: OSError) -> InstallError:
    reason = exc.strerror or str(exc)
    if exc.filename and Path(exc.filename) != folder:
        reason = f"{exc.filename}: {reason}"
    return InstallError(
        f"cannot {action} the skill in {folder}: {reason}; check that this folder can be written "
        "(or choose another target)"
    )


def install(folder: Path, files: Mapping[str, str], version: str, *, force: bool = False) -> Outcome:
    """Write ``files`` into ``folder``, removing files an earlier version installed and no longer has.

    Files the user edited are kept (and reported) unless ``force``.
    """
    try:
        manifest = read_manifest(folder)
        written: list[str] = []
        kept: list[str] = []
        removed: list[str] = []
        unchanged = 0
        recorded: dict[str, str] = {}
        for relative, text in sorted(files.items()):
            wanted = digest(text)
            path = folder / relative
            if _current_digest(path) == wanted:
                unchanged += 1
                recorded[relative] = wanted
            elif not force and _edited(folder, manifest, relative, wanted):
                kept.append(relative)
                # Keep the hash it was installed with, so the edit is still seen next time.
                if manifest and relative in manifest.files:
                    recorded[relative] = manifest.files[relative]
            else:
                _write(path, text)
                written.append(relative)
                recorded[relative] = wanted
        for relative in sorted(set(manifest.files) - set(files) if manifest else ()):
            if not force and _edited(folder, manifest, relative, None):
                kept.append(relative)
                recorded[relative] = manifest.files[relative]  # type: ignore[union-attr]
                continue
            (folder / relative).unlink(missing_ok=True)
            removed.append(relative)
        _remove_empty_folders(folder)
        _write(folder / MANIFEST, json.dumps({"version": version, "files": recorded}, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise _wrap(folder, "install", exc) from exc
    return Outcome(written=tuple(written), removed=tuple(removed), kept=tuple(kept), unchanged=unchanged)


def uninstall(folder: Path, *, force: bool = False) -> Outcome | None:
    """Remove the files xpm installed in ``folder`` (``None`` when it installed nothing there).

    Files the user edited are kept unless ``force``; the folder goes when nothing is left in it.
    """
    try:
        manifest = read_manifest(folder)
        if manifest is None:
            return None
        removed: list[str] = []
        kept: list[str] = []
        for relative in sorted(manifest.files):
            if not force and _edited(folder, manifest, relative, None):
                kept.append(relative)
                continue
            (folder / relative).unlink(missing_ok=True)
            removed.append(relative)
        if kept:
            remaining = {relative: manifest.files[relative] for relative in kept}
            _write(folder / MANIFEST, json.dumps({"version": manifest.version, "files": remaining}, indent=2) + "\n")
        else:
            (folder / MANIFEST).unlink(missing_ok=True)
        _remove_empty_folders(folder)
    except OSError as exc:
        raise _wrap(folder, "remove", exc) from exc
    return Outcome(removed=tuple(removed), kept=tuple(kept))


def _remove_empty_folders(folder: Path) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()
