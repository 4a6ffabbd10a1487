"""The git state read from ``.git`` files agrees with git itself, in every repository shape."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_kedro.sources.vcs import DirtyCheck, read_git_state, strip_userinfo


def _git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return completed.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "dev@example.invalid")
    _git(root, "config", "user.name", "dev")
    (root / "code.py").write_text("x = 1\n")
    _git(root, "add", "code.py")
    _git(root, "commit", "-q", "-m", "first")
    return root


def test_branch_revision_and_remote_match_git(repo: Path) -> None:
    _git(repo, "remote", "add", "origin", "https://alice:s3cretToken9@127.0.0.1:9/org/proj.git")
    (repo / "sub").mkdir()
    state = read_git_state(repo / "sub")
    assert state is not None
    assert state.work_tree == repo
    assert state.revision == _git(repo, "rev-parse", "HEAD")
    assert state.branch == "main"
    assert state.remote_url == "https://127.0.0.1:9/org/proj.git"
    assert "s3cretToken9" not in str(state.attributes())


def test_packed_refs_and_the_branch_remote(repo: Path) -> None:
    _git(repo, "remote", "add", "origin", "https://127.0.0.1:9/origin.git")
    _git(repo, "remote", "add", "fork", "git@127.0.0.1:me/fork.git")
    _git(repo, "config", "branch.main.remote", "fork")
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    state = read_git_state(repo)
    assert state is not None
    assert state.revision == _git(repo, "rev-parse", "HEAD")
    assert state.remote_url == "git@127.0.0.1:me/fork.git"


def test_detached_head_has_a_revision_and_no_branch(repo: Path) -> None:
    (repo / "code.py").write_text("x = 2\n")
    _git(repo, "commit", "-qam", "second")
    first = _git(repo, "rev-parse", "HEAD~1")
    _git(repo, "checkout", "-q", first)
    state = read_git_state(repo)
    assert state is not None
    assert (state.revision, state.branch) == (first, None)
    assert "vcs.ref.head.name" not in state.attributes()


def test_a_worktree_reads_its_own_head(repo: Path, tmp_path: Path) -> None:
    _git(repo, "worktree", "add", "-q", "-b", "feature", str(tmp_path / "wt"))
    (tmp_path / "wt" / "code.py").write_text("x = 3\n")
    _git(tmp_path / "wt", "commit", "-qam", "feature work")
    state = read_git_state(tmp_path / "wt")
    assert state is not None
    assert state.branch == "feature"
    assert state.revision == _git(tmp_path / "wt", "rev-parse", "HEAD")
    assert state.revision != _git(repo, "rev-parse", "HEAD")


def test_outside_a_repository_and_before_the_first_commit(tmp_path: Path) -> None:
    assert read_git_state(tmp_path) is None
    _git(tmp_path, "init", "-q", "-b", "main")
    state = read_git_state(tmp_path)
    assert state is not None
    assert (state.revision, state.branch) == (None, "main")


def test_dirty_means_tracked_changes_only(repo: Path) -> None:
    assert DirtyCheck(repo).result(wait_s=30) is False
    (repo / "untracked.txt").write_text("new\n")
    assert DirtyCheck(repo).result(wait_s=30) is False
    (repo / "code.py").write_text("x = 99\n")
    assert DirtyCheck(repo).result(wait_s=30) is True


def test_dirty_is_unknown_without_git(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    assert DirtyCheck(repo).result(wait_s=30) is None


_HOSTS = st.sampled_from(["127.0.0.1", "127.0.0.1:8443", "[::1]:9"])
_SECRET = st.text(alphabet="abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=8)


@given(scheme=st.sampled_from(["https", "http", "ssh", "git+https"]), user=_SECRET, pw=_SECRET,
       host=_HOSTS)  # fmt: skip
def test_userinfo_never_survives(scheme: str, user: str, pw: str, host: str) -> None:
    stripped = strip_userinfo(f"{scheme}://{user}:{pw}@{host}/org/repo.git")
    assert stripped == f"{scheme}://{host}/org/repo.git"
