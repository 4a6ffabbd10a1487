"""The resource's process and host facts without ``platform``, ``socket`` or ``getpass``: the
values those modules give."""

from __future__ import annotations

import getpass
import platform
import socket
import sys

import pytest

from otel_kedro.sources.resource import host_name, python_version, resource_attributes, user_name


def test_facts_equal_the_standard_librarys() -> None:
    """Python version, host name and user are what platform, socket and getpass say."""
    assert python_version() == platform.python_version()
    assert host_name() == socket.gethostname()
    assert user_name() == getpass.getuser()
    facts = resource_attributes("svc", environ={})
    assert facts["process.runtime.version"] == platform.python_version()
    assert facts["host.name"] == socket.gethostname()


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("3.11.7 (main, Dec  8 2023, 18:56:57) [GCC 9.4.0]", "3.11.7"),
        ("3.13.0rc1 (main, Aug  1 2024, 10:00:00) [Clang 15.0.0]", "3.13.0rc1"),
        ("3.12 (default) [GCC]", "3.12.0"),
        ("3.12.0+ (heads/3.12:abc, Oct 1 2023, 12:00:00) [GCC 12]", "3.12.0+"),
    ],
)
def test_python_version_reads_sys_version_as_platform_does(
    monkeypatch: pytest.MonkeyPatch, version: str, expected: str
) -> None:
    """Release candidates, local builds and a missing micro number, as platform reports them."""
    monkeypatch.setattr(sys, "version", version)
    assert python_version() == expected
    platform._sys_version_cache.clear()  # type: ignore[attr-defined]
    assert platform.python_version() == expected
    platform._sys_version_cache.clear()  # type: ignore[attr-defined]


def test_user_from_the_environment_then_the_password_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LOGNAME wins over USER; with none of the variables the uid's name is used, as getpass."""
    monkeypatch.setenv("LOGNAME", "first")
    monkeypatch.setenv("USER", "second")
    assert user_name() == getpass.getuser() == "first"
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    assert user_name() == getpass.getuser()
