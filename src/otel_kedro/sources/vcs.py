"""The git state of a project: revision, branch and remote read from ``.git`` files, and a
dirty flag from ``git status`` on a background thread.

Reading ``HEAD``, the ref it names (loose or packed) and ``config`` costs tens of microseconds
and no process; the dirty flag needs the index compared with the work tree, which only git does
well, so it runs as one ``git status`` subprocess started when the run starts and collected when
it ends, off the run's critical path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Final, NamedTuple

from opentelemetry.util.types import AttributeValue

from otel_kedro import attributes as attr

_SHA: Final = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_USERINFO: Final = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@")
_DIRTY_TIMEOUT_S: Final = 10.0


# A named tuple rather than a frozen dataclass: as immutable, and a tenth of the cost to define
# (~0.5 ms of `otel-kedro run`'s 100 ms start-up budget, which imports this module).
class GitState(NamedTuple):
    """What the repository holding a project says about the code a run ran."""

    work_tree: Path
    revision: str | None
    branch: str | None
    remote_url: str | None

    def attributes(self) -> dict[str, AttributeValue]:
        """The ``vcs.*`` attributes (semantic conventions) of this state."""
        result: dict[str, AttributeValue] = {}
        if self.revision:
            result[attr.VCS_REF_HEAD_REVISION] = self.revision
        if self.branch:
            result[attr.VCS_REF_HEAD_NAME] = self.branch
            result[attr.VCS_REF_HEAD_TYPE] = attr.VCS_REF_TYPE_BRANCH
        if self.remote_url:
            result[attr.VCS_REPOSITORY_URL_FULL] = self.remote_url
        return result


def read_git_state(start: Path) -> GitState | None:
    """The git state of the repository at or above ``start``, or None outside one.

    Handles worktrees and submodules (``.git`` as a file naming the git directory), detached
    heads, and refs kept only in ``packed-refs``. Credentials in the remote URL are removed.
    """
    found = _git_dirs(start)
    if found is None:
        return None
    work_tree, git_dir, common_dir = found
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    branch: str | None = None
    revision: str | None = None
    if head.startswith("ref:"):
        ref = head[4:].strip()
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        revision = _resolve_ref(ref, git_dir, common_dir)
    elif _SHA.match(head):
        revision = head
    return GitState(work_tree, revision, branch, _remote_url(common_dir / "config", branch))


def _git_dirs(start: Path) -> tuple[Path, Path, Path] | None:
    """(work tree, git dir, common dir) of the repository at or above ``start``."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            git_dir = dot_git
        elif dot_git.is_file():
            try:
                text = dot_git.read_text(encoding="utf-8").strip()
            except OSError:
                return None
            if not text.startswith("gitdir:"):
                return None
            git_dir = (folder / text[7:].strip()).resolve()
        else:
            continue
        common_dir = git_dir
        commondir_file = git_dir / "commondir"
        if commondir_file.is_file():
            common_dir = (git_dir / commondir_file.read_text(encoding="utf-8").strip()).resolve()
        return folder, git_dir, common_dir
    return None


def _resolve_ref(ref: str, git_dir: Path, common_dir: Path) -> str | None:
    """The commit a ref names: its loose file (per-worktree, then shared), else packed-refs.

    Symbolic refs are followed; None for an unborn branch (a repository without commits).
    """
    for _ in range(5):  # symbolic refs pointing at symbolic refs, bounded
        for folder in (git_dir, common_dir):
            try:
                text = (folder / ref).read_text(encoding="utf-8").strip()
            except OSError:
                continue
            if text.startswith("ref:"):
                ref = text[4:].strip()
                break
            return text if _SHA.match(text) else None
        else:
            return _packed_ref(common_dir / "packed-refs", ref)
    return None


def _packed_ref(path: Path, ref: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        sha, _, name = line.partition(" ")
        if name == ref and _SHA.match(sha):
            return sha
    return None


def _remote_url(config: Path, branch: str | None) -> str | None:
    """The URL of the branch's remote (else ``origin``, else the only remote), userinfo removed."""
    try:
        text = config.read_text(encoding="utf-8")
    except OSError:
        return None
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]").strip(), {})
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            current[key.strip().lower()] = value.strip().strip('"')
    remotes = {
        name[len('remote "') : -1]: values
        for name, values in sections.items()
        if name.startswith('remote "') and name.endswith('"') and "url" in values
    }
    chosen = sections.get(f'branch "{branch}"', {}).get("remote") if branch else None
    if chosen not in remotes:
        chosen = "origin" if "origin" in remotes else next(iter(remotes), None)
    return strip_userinfo(remotes[chosen]["url"]) if chosen else None


def strip_userinfo(url: str) -> str:
    """``https://user:token@host/path`` -> ``https://host/path``; other forms are unchanged
    (``git@host:path`` names a login, not a secret).
    """
    return _USERINFO.sub(r"\g<scheme>", url)


class DirtyCheck:
    """``git status`` of a work tree, run once on a background thread.

    ``result()`` waits a bounded time and gives None when git is missing, fails or is slow.
    """

    def __init__(self, work_tree: Path) -> None:
        self._work_tree = work_tree
        self._dirty: bool | None = None
        self._thread = threading.Thread(target=self._check, name="otel-kedro-git", daemon=True)
        self._thread.start()

    def _check(self) -> None:
        git = shutil.which("git")
        if git is None:
            return
        environment = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # never contend with the user
        try:
            completed = subprocess.run(
                [git, "status", "--porcelain", "--untracked-files=no", "--ignore-submodules"],
                cwd=self._work_tree,
                env=environment,
                capture_output=True,
                timeout=_DIRTY_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return
        if completed.returncode == 0:
            self._dirty = bool(completed.stdout.strip())

    def result(self, wait_s: float = 2.0) -> bool | None:
        """Whether tracked files differ from the commit; None when unknown."""
        self._thread.join(wait_s)
        return None if self._thread.is_alive() else self._dirty
