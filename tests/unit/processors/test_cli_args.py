"""Command-line masking on the real ``KedroCLI`` structure (kedro-telemetry's algorithm, fixed)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from kedro.framework.cli.cli import KedroCLI
from kedro.framework.cli.starters import _OFFICIAL_STARTER_SPECS_DICT
from kedro_telemetry.masking import STARTERS as TELEMETRY_STARTERS
from kedro_telemetry.masking import _get_cli_structure

from otel_kedro.config.privacy import PrivacySettings
from otel_kedro.processors.cli_args import (
    KEDRO_COMMAND_WORDS,
    KEDRO_SHORT_OPTIONS,
    MASK,
    Vocabulary,
    command_path,
    kedro_vocabulary,
    mask_command_args,
    mask_kedro_args,
    mask_other_args,
)
from otel_kedro.runs.chains import destination_chain
from tests.support.kedro_projects import clean_env, copy_example

ALLOW = frozenset({"data_science", "nightly_batch"})


def _make_cli(cls: type[KedroCLI], project_path: Path, mp: pytest.MonkeyPatch) -> KedroCLI:
    """A real ``KedroCLI``; Kedro's ``sys.path``/``PYTHONPATH`` changes are undone by ``mp``."""
    mp.setenv("KEDRO_DISABLE_TELEMETRY", "1")
    mp.setattr(sys, "path", list(sys.path))
    mp.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    return cls(project_path)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def root(project: Path) -> Iterator[KedroCLI]:
    """``KedroCLI`` of a copy of the example project (Kedro's and the project's commands)."""
    with pytest.MonkeyPatch.context() as mp:
        yield _make_cli(KedroCLI, project, mp)
    for name in [m for m in sys.modules if m.split(".")[0] == "retail_demo"]:
        del sys.modules[name]


def _mask(root: click.Command, line: str, allow: frozenset[str] = frozenset()) -> str:
    args = line.split()
    return " ".join(mask_kedro_args(args, kedro_vocabulary(root, args), allow))


TABLE = [
    # kedro-telemetry's documented behaviour
    ("run --pipelines=data_science", "run --pipelines *****"),
    ("run -p bar", "run -p *****"),
    ("run --params a=1,b=secret", "run --params *****"),
    ("run --params=hello=4 --pipeline=my_pipeline", "run --params ***** --pipeline *****"),
    ("run --unknown=x", "run *****"),
    ("run --unknown x", "run ***** *****"),
    ("run --runner ParallelRunner", "run --runner *****"),
    (
        "new --starter=spaceflights-pandas --name=my_project",
        "new --starter spaceflights-pandas --name *****",
    ),
    ("pipeline create mypipeline", "pipeline create *****"),
    ("catalog describe-datasets", "catalog describe-datasets"),
    ("notacommand secret", "*****"),
    # pass-through flags, -V included (kedro-telemetry masks it)
    ("--help", "--help"),
    ("--version", "--version"),
    ("-V", "-V"),
    ("-h", "-h"),
    ("-v", "-v"),
    # what follows a leading flag is masked, not recorded verbatim as kedro-telemetry does
    ("--help secret", "--help *****"),
    ("-V --params=secret", "-V --params *****"),
    # nested commands and their options
    (
        "pipeline create mypipeline --env=prod --skip-config",
        "pipeline create ***** --env ***** --skip-config",
    ),
    ("pipeline delete mypipeline -y", "pipeline delete ***** -y"),
    ("pipeline create name", "pipeline create *****"),  # an argument's name is a value here
    ("pipeline secretword", "pipeline *****"),
    ("catalog describe-datasets -p my_pipeline", "catalog describe-datasets -p *****"),
    ("catalog resolve-patterns --env=local", "catalog resolve-patterns --env *****"),
    ("catalog list-patterns", "catalog list-patterns"),
    ("registry describe secret", "registry describe *****"),
    ("starter list", "starter list"),
    ("server start --host 0.0.0.0 -p 4141", "server start --host ***** -p *****"),
    ("jupyter lab --ip 0.0.0.0", "jupyter lab ***** *****"),
    ("ipython --help", "ipython *****"),  # forwarded to IPython: an argument, not Kedro's flag
    ("info", "info"),
    # options: help everywhere (Kedro's -h too), flags, Kedro's multi-letter short options
    ("run --help", "run --help"),
    ("run -h", "run -h"),
    ("run --async --only-missing-outputs", "run --async --only-missing-outputs"),
    ("run -lv ds:2024 -ns north", "run -lv ***** -ns *****"),
    ("run -psecret", "run *****"),
    ("run --", "run *****"),
    ("run secret", "run *****"),
    # starters: official aliases from Kedro itself, anything else masked
    ("new -s support-agent-langgraph", "new -s support-agent-langgraph"),
    ("new --starter my-private-template", "new --starter *****"),
    ("new --starter=/home/alice/templates/t", "new --starter *****"),
    ("new --name spaceflights-pandas", "new --name *****"),
    ("run --starter spaceflights-pandas", "run ***** *****"),
    # unknown commands collapse to one mask
    ("notacommand", "*****"),
    ("runx --params x", "*****"),
    ("--unknown-root-option", "*****"),
]


@pytest.mark.parametrize(("line", "expected"), TABLE)
def test_masking_table(root: KedroCLI, line: str, expected: str) -> None:
    assert _mask(root, line) == expected


def test_empty_and_blank_first_argument(root: KedroCLI) -> None:
    assert mask_kedro_args([], kedro_vocabulary(root, [])) == []
    assert mask_kedro_args(["", "secret"], kedro_vocabulary(root, ["", "secret"])) == [MASK]
    assert mask_kedro_args(["", "secret"], None) == [MASK]


FALLBACK = [
    ("run --pipelines=data_science", "run --pipelines *****"),
    ("run -p bar", "run -p *****"),
    ("run --params=hello=4 --pipeline=my_pipeline", "run --params ***** --pipeline *****"),
    ("run --unknown x", "run --unknown *****"),
    ("run -lv ds:2024 -psecret -5", "run -lv ***** -p ***** *****"),
    (
        "new --starter=spaceflights-pandas -s my-template",
        "new --starter spaceflights-pandas -s *****",
    ),
    ("pipeline create mypipeline", "pipeline create *****"),
    ("catalog describe-datasets", "catalog describe-datasets"),
    ("notacommand secret", "*****"),
    ("-V", "-V"),
    ("--version secret", "--version *****"),
    ("--weird=secret", "*****"),
    ("-- run", "*****"),
]


@pytest.mark.parametrize(("line", "expected"), FALLBACK)
def test_fallback_without_vocabulary(line: str, expected: str) -> None:
    assert " ".join(mask_kedro_args(line.split(), None)) == expected


def test_outside_a_project_only_global_commands_are_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = _make_cli(KedroCLI, tmp_path, monkeypatch)
    assert kedro_vocabulary(outside, ["run", "--params", "x"]) is None
    assert _mask(outside, "run --params x") == "run --params *****"  # the fallback
    assert (
        _mask(outside, "new --starter=databricks-iris -n p")
        == "new --starter databricks-iris -n *****"
    )
    assert _mask(outside, "notacommand secret") == MASK


def test_official_starters_come_from_kedro(root: KedroCLI) -> None:
    official = set(_OFFICIAL_STARTER_SPECS_DICT)
    assert official - set(TELEMETRY_STARTERS), "kedro 1.7 has starters kedro-telemetry lacks"
    for alias in official:
        assert _mask(root, f"new --starter={alias}") == f"new --starter {alias}"
        assert mask_kedro_args(["new", "-s", alias], None) == ["new", "-s", alias]


def test_allow_listed_values_pass(root: KedroCLI) -> None:
    assert _mask(root, "run --pipelines=data_science", ALLOW) == "run --pipelines data_science"
    assert _mask(root, "run -p nightly_batch --env x", ALLOW) == "run -p nightly_batch --env *****"
    assert _mask(root, "pipeline create data_science", ALLOW) == "pipeline create data_science"
    assert _mask(root, "run --unknown=data_science", ALLOW) == "run *****"
    assert mask_kedro_args(["run", "-p", "data_science"], None, ALLOW) == [
        "run",
        "-p",
        "data_science",
    ]
    assert mask_other_args(["/opt/x/tool", "--name=data_science", "other"], ALLOW) == [
        "tool",
        "--name",
        "data_science",
        MASK,
    ]


def _walk(
    structure: dict[str | None, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str | None, Any]]]:
    """Every command path of kedro-telemetry's full structure, with its level."""
    yield path, structure
    for key, sub in structure.items():
        if isinstance(sub, dict) and key is not None:
            yield from _walk(sub, (*path, key))


def test_vocabulary_is_the_real_structure_along_the_invoked_path(root: KedroCLI) -> None:
    full = _get_cli_structure(root)["kedro"]  # every command: only this test may build it
    checked = 0
    for path, level in _walk(full):
        if not path:
            continue
        vocabulary: Vocabulary | None = kedro_vocabulary(root, [*path, "--some-option"])
        for word in path:
            assert vocabulary is not None
            vocabulary = vocabulary[word]
        assert vocabulary is not None
        theirs = {key for key, value in level.items() if value is None and str(key).startswith("-")}
        ours = {key for key, value in vocabulary.items() if value is None}
        # Kedro's help_option_names (-h) apply below the root; commands forwarding their
        # arguments (ipython, jupyter ...) have no help option of their own
        assert theirs - {"--help"} <= ours, path
        assert ours - theirs <= {"-h"}, path
        assert ("--help" in ours) == (path[-1] not in {"ipython", "lab", "notebook", "setup"})
        checked += 1
    assert checked >= 20


def test_command_words_and_short_options_cover_kedro_cli(root: KedroCLI) -> None:
    full = _get_cli_structure(root)["kedro"]
    words = {word for path, _ in _walk(full) for word in path}
    options = {str(key) for _, level in _walk(full) for key in level if str(key).startswith("-")}
    assert words <= KEDRO_COMMAND_WORDS
    assert {o for o in options if not o.startswith("--") and len(o) > 2} == KEDRO_SHORT_OPTIONS
    # every option of Kedro's commands survives the fallback, so the fallback can re-mask output
    for option in options:
        assert mask_kedro_args(["run", option], None) == ["run", option]


class RecordingKedroCLI(KedroCLI):
    """The real ``KedroCLI``, noting which commands are looked up or listed."""

    def __init__(self, project_path: Path) -> None:
        self.looked_up: list[str] = []
        self.listed = 0
        super().__init__(project_path)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self.looked_up.append(cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.listed += 1
        return super().list_commands(ctx)


def test_only_the_invoked_command_is_looked_up(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = _make_cli(RecordingKedroCLI, project, monkeypatch)
    assert isinstance(recording, RecordingKedroCLI)
    vocabulary = kedro_vocabulary(recording, ["run", "--params", "x=1", "pipeline"])
    assert vocabulary is not None
    assert list(vocabulary) == ["run"]
    assert recording.looked_up == ["run"]
    assert recording.listed == 0
    assert kedro_vocabulary(recording, ["notacommand", "run"]) is None
    assert recording.looked_up == ["run", "notacommand"]
    assert recording.listed == 0


class RecordingGroup(click.Group):
    """A real click group that logs ``get_command``/``list_commands`` calls into ``log``."""

    def __init__(self, name: str, log: list[str], **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.log = log

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self.log.append(f"{self.name}.get:{cmd_name}")
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.log.append(f"{self.name}.list")
        return super().list_commands(ctx)


def test_nested_groups_and_collections_follow_the_path_only() -> None:
    log: list[str] = []
    alpha = RecordingGroup("alpha", log, params=[click.Option(["--level", "-l"])])
    alpha.add_command(
        click.Command("one", params=[click.Option(["--flag/--no-flag"]), click.Argument(["name"])])
    )
    alpha.add_command(click.Command("two", params=[click.Option(["--other"])]))
    source = RecordingGroup("source", log)
    source.add_command(click.Command("three", params=[click.Option(["--x"])]))
    beta = click.CommandCollection("beta", sources=[source])
    cli = RecordingGroup("kedro", log, context_settings={"help_option_names": ["-h", "--help"]})
    cli.add_command(alpha)
    cli.add_command(beta)
    cli.add_command(click.Command("gamma"))

    assert kedro_vocabulary(cli, ["alpha", "one", "--flag", "v"]) == {
        "alpha": {
            "--level": None,
            "-l": None,
            "-h": None,
            "--help": None,
            "one": {"--flag": None, "--no-flag": None, "-h": None, "--help": None},
        }
    }
    assert log == ["kedro.get:alpha", "alpha.get:one"]
    log.clear()
    assert kedro_vocabulary(cli, ["beta", "three", "secret"]) == {
        "beta": {"-h": None, "--help": None, "three": {"--x": None, "-h": None, "--help": None}}
    }
    assert log == ["kedro.get:beta", "source.get:three"]
    log.clear()
    vocabulary = kedro_vocabulary(cli, ["alpha", "secret", "one"])
    assert log == ["kedro.get:alpha", "alpha.get:secret"]
    assert mask_kedro_args(["alpha", "secret", "one"], vocabulary) == ["alpha", MASK, MASK]
    assert kedro_vocabulary(cli, ["gamma"]) == {"gamma": {"-h": None, "--help": None}}
    assert kedro_vocabulary(cli, ["--help"]) is None
    assert kedro_vocabulary(click.Command("plain"), ["plain"]) is None
    assert not [entry for entry in log if entry.endswith(".list")]


def test_other_commands_are_not_imported(project: Path) -> None:
    """``kedro run`` loads Kedro's ``run`` only: no other command module (kedro-plugins #794)."""
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from kedro.framework.cli.cli import KedroCLI
        from otel_kedro.processors.cli_args import kedro_vocabulary, mask_kedro_args
        root = KedroCLI(Path({str(project)!r}))
        args = ["run", "--pipelines=data_science"]
        print(mask_kedro_args(args, kedro_vocabulary(root, args)))
        print(sorted(m for m in sys.modules if m.startswith("kedro.framework.cli.")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    masked, modules = result.stdout.strip().splitlines()[-2:]
    assert masked == "['run', '--pipelines', '*****']"
    assert "kedro.framework.cli.project" in modules
    for other in ("jupyter", "starters", "catalog", "pipeline", "registry", "server"):
        assert f"kedro.framework.cli.{other}'" not in modules


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/usr/local/bin/kedro", "run", "--params", "x"], ["kedro", "run", "--params", MASK]),
        (
            ["C:\\Users\\alice\\venv\\Scripts\\kedro.exe", "run", "-p", "x"],
            ["kedro", "run", "-p", MASK],
        ),
        (
            ["/home/alice/.venv/bin/python3.11", "-m", "kedro", "run", "-p", "x"],
            ["kedro", "run", "-p", MASK],
        ),
        (["python", "-mkedro", "--version"], ["kedro", "--version"]),
        (["kedro"], ["kedro"]),
        (
            [
                "/home/alice/bin/tool",
                "--flag",
                "value",
                "positional",
                "--long=v",
                "-x",
                "-psecret",
                "-5",
                "--",
            ],
            ["tool", "--flag", MASK, MASK, "--long", MASK, "-x", "-p", MASK, MASK, MASK],
        ),
        (["/usr/bin/python3", "-c", "print('secret')"], ["python3", "-c", MASK]),
        (["/usr/bin/python3", "-m", "kedroish", "run"], ["python3", "-m", MASK, MASK]),
        (["grep", "-m", "kedro", "file"], ["grep", "-m", MASK, MASK]),
        (["tool", "-lv", "x"], ["tool", "-l", MASK, MASK]),
        ([], []),
    ],
)
def test_mask_command_args(argv: list[str], expected: list[str]) -> None:
    assert mask_command_args(argv) == expected
    assert mask_command_args(expected) == expected


def test_mask_command_args_uses_the_vocabulary(root: KedroCLI) -> None:
    argv = ["/home/alice/.venv/bin/kedro", "run", "--unknown=x", "-p", "data_science"]
    vocabulary = kedro_vocabulary(root, argv[1:])
    assert mask_command_args(argv, vocabulary, ALLOW) == [
        "kedro",
        "run",
        MASK,
        "-p",
        "data_science",
    ]
    assert mask_command_args(argv, None, ALLOW) == [
        "kedro",
        "run",
        "--unknown",
        MASK,
        "-p",
        "data_science",
    ]


@pytest.mark.parametrize(("line", "_expected"), TABLE + FALLBACK)
def test_idempotent(root: KedroCLI, line: str, _expected: str) -> None:
    argv = ["/home/alice/.venv/bin/kedro", *line.split()]
    vocabulary = kedro_vocabulary(root, argv[1:])
    once = mask_command_args(argv, vocabulary, ALLOW)
    assert mask_command_args(once, vocabulary, ALLOW) == once
    assert mask_command_args(once, kedro_vocabulary(root, once[1:]), ALLOW) == once
    assert mask_command_args(once, None, ALLOW) == once  # a later processor without the CLI


def test_command_path_is_the_leading_words() -> None:
    assert command_path(["pipeline", "create", MASK]) == "pipeline create"
    assert command_path(["run", "--params", MASK]) == "run"
    assert command_path([MASK, "run"]) == ""
    assert command_path(["--version"]) == ""


# ---------------------------------------------------------------- properties

RUN_VALUE_OPTIONS = [
    "--params",
    "--pipelines",
    "-p",
    "--env",
    "-e",
    "--runner",
    "--tags",
    "-lv",
    "-ns",
    "--from-nodes",
]
CREATE_VALUE_OPTIONS = ["--template", "-t", "--env", "-e"]
OTHER_OPTIONS = ["--flag", "--long", "-x", "-p", "--unknown", "--starter", "-s"]
FLAGS = ["--async", "--skip-config", "--verbose", "-v", "--help", "-h"]
OFFICIAL = sorted(_OFFICIAL_STARTER_SPECS_DICT)
PUBLIC = [
    *KEDRO_COMMAND_WORDS,
    *RUN_VALUE_OPTIONS,
    *CREATE_VALUE_OPTIONS,
    *OTHER_OPTIONS,
    *FLAGS,
    *OFFICIAL,
    *ALLOW,
    MASK,
    "kedro",
    "tool",
    "notacommand",
    "value",
    "positional",
]


def _not_public(token: str) -> bool:
    """Not a substring of anything that may legitimately appear in masked output."""
    return not any(token in public for public in PUBLIC)


secrets = st.text(alphabet=st.characters(codec="utf-8"), min_size=3, max_size=30).filter(
    lambda s: (
        not s.startswith("-") and s not in KEDRO_COMMAND_WORDS and s not in ALLOW and _not_public(s)
    )
)
users = st.from_regex(r"[a-z_][a-z0-9_.-]{2,15}", fullmatch=True).filter(_not_public)


@st.composite
def command_lines(draw: st.DrawFn, secret: str, user: str) -> tuple[str, list[str]]:
    """A command line of one family with ``secret`` in value, ``--opt=value`` and positional places."""
    family = draw(st.sampled_from(["run", "pipeline create", "unknown", "other"]))
    value_options = {"run": RUN_VALUE_OPTIONS, "pipeline create": CREATE_VALUE_OPTIONS}.get(
        family, OTHER_OPTIONS
    )
    option = st.sampled_from([*value_options, *OTHER_OPTIONS])
    piece = st.one_of(
        st.tuples(option, st.just(secret)).map(list),
        option.map(lambda o: [f"{o}={secret}"]),
        st.just([secret]),
        st.sampled_from(["-p", "-e", "-x"]).map(lambda o: [f"{o}{secret}"]),
        st.sampled_from(FLAGS).map(lambda f: [f]),
        st.tuples(option, st.sampled_from(sorted(ALLOW))).map(list),
    )
    pieces = draw(st.lists(piece, min_size=1, max_size=6))
    body = [token for p in pieces for token in p]
    if family == "other":
        return family, [f"/home/{user}/bin/tool", "--flag", "value", "positional", *body]
    executable = draw(
        st.sampled_from(
            [[f"/home/{user}/.venv/bin/kedro"], [f"/home/{user}/.venv/bin/python", "-m", "kedro"]]
        )
    )
    words = (
        [draw(st.sampled_from(["notacommand", secret]))] if family == "unknown" else family.split()
    )
    return family, [*executable, *words, *body]


def _assert_clean(masked: list[str], secret: str, user: str) -> None:
    for token in masked:
        assert secret not in token, masked
        assert user not in token, masked
        assert "/home/" not in token, masked


@settings(max_examples=1000, deadline=None)
@given(data=st.data(), secret=secrets, user=users)
def test_no_secret_or_directory_survives(
    root: KedroCLI, data: st.DataObject, secret: str, user: str
) -> None:
    family, argv = data.draw(command_lines(secret, user))
    kedro_args = argv[3:] if argv[1:3] == ["-m", "kedro"] else argv[1:]
    vocabulary = kedro_vocabulary(root, kedro_args) if family != "other" else None
    masked = mask_command_args(argv, vocabulary, ALLOW)
    _assert_clean(masked, secret, user)
    _assert_clean(mask_command_args(argv, None, ALLOW), secret, user)
    assert masked[0] == ("tool" if family == "other" else "kedro")
    if family == "unknown":
        assert masked == ["kedro", MASK]
    elif family != "other":
        assert command_path(masked[1:]) == family


tokens = st.one_of(
    st.sampled_from(sorted(KEDRO_COMMAND_WORDS)),
    st.sampled_from(
        [*RUN_VALUE_OPTIONS, *CREATE_VALUE_OPTIONS, *OTHER_OPTIONS, *FLAGS, "-V", "--version"]
    ),
    st.sampled_from([*OFFICIAL, *sorted(ALLOW), MASK, "--", "-", "-5", ""]),
    st.tuples(
        st.sampled_from(["--params", "-s", "--starter", "-lv", "-p", "--x"]),
        st.sampled_from(["", "=", "=a=b", *OFFICIAL]),
    ).map("".join),
    st.text(min_size=0, max_size=8),
)


@settings(max_examples=500, deadline=None)
@given(
    args=st.lists(tokens, max_size=8),
    executable=st.sampled_from(["/home/u/bin/kedro", "kedro.exe", "/usr/bin/tool", "python3"]),
)
def test_masking_is_idempotent(root: KedroCLI, args: list[str], executable: str) -> None:
    argv = [executable, *args]
    vocabulary = kedro_vocabulary(root, args)
    once = mask_command_args(argv, vocabulary, ALLOW)
    assert mask_command_args(once, vocabulary, ALLOW) == once
    assert mask_command_args(once, kedro_vocabulary(root, once[1:]), ALLOW) == once
    if once[0] == "kedro":  # every command of the example project is Kedro's own
        assert mask_command_args(once, None, ALLOW) == once


# ---------------------------------------------------------------- kept run options (issue 11.7)

KEPT = PrivacySettings().files.keep_run_options
KEPT_VALUES = ("ds", "n1", "a,b")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("run --pipeline data_science", "run --pipeline data_science"),
        ("run -p ds --runner=ParallelRunner -e prod", "run -p ds --runner ParallelRunner -e prod"),
        ("run --tags a,b --nodes n1 --from-nodes x --to-nodes y", "run --tags a,b --nodes n1 --from-nodes x --to-nodes y"),
        ("run --namespaces north -ns south --from-inputs i --to-outputs o", "run --namespaces north -ns south --from-inputs i --to-outputs o"),
        ("run --pipelines=a,b", "run --pipelines a,b"),
        ("run --params a=1 --pipeline ds", "run --params ***** --pipeline ds"),
        ("run --params=a=1 --conf-source s3://k:s@b/c", "run --params ***** --conf-source *****"),
        ("run --unknown x --pipeline ds extra", "run ***** ***** --pipeline ds *****"),
        ("run --pipeline --params secret", "run --pipeline --params *****"),
        ("run --pipeline=-x", "run --pipeline *****"),
        ("run -pds --config c.yml -lv d:1", "run ***** --config ***** -lv *****"),
        ("pipeline create --env prod", "pipeline create --env *****"),
    ],
)  # fmt: skip
def test_kept_run_options_keep_their_values_on_kedro_run_only(
    root: KedroCLI, line: str, expected: str
) -> None:
    """Kedro's non-secret run options keep their values; --params, --conf-source, unknown
    options, positionals and other commands stay masked.
    """
    args = line.split()
    masked = mask_kedro_args(args, kedro_vocabulary(root, args), (), KEPT)
    assert " ".join(masked) == expected
    assert mask_kedro_args(masked, kedro_vocabulary(root, masked), (), KEPT) == masked


def test_params_and_conf_source_are_never_kept_even_when_listed(root: KedroCLI) -> None:
    """The processor refuses to keep values of options whose values may be secrets."""
    args = ["run", "--params", "token=abc", "--conf-source", "/home/me/conf"]
    keep = ["--params", "--conf-source"]
    assert mask_kedro_args(args, kedro_vocabulary(root, args), (), keep) == [
        "run", "--params", MASK, "--conf-source", MASK,
    ]  # fmt: skip


def test_without_vocabulary_nothing_is_kept() -> None:
    """An unknown command structure falls back to masking every value."""
    assert mask_kedro_args(["run", "--pipeline", "ds"], None, (), KEPT) == [
        "run",
        "--pipeline",
        MASK,
    ]


@st.composite
def run_lines(draw: st.DrawFn, secret: str) -> list[str]:
    """A ``kedro run`` argv mixing kept options with ``secret`` as a --params (or
    --conf-source, or unknown option) value in every spelling.
    """
    kept = st.tuples(st.sampled_from(sorted(KEPT)), st.sampled_from(KEPT_VALUES))
    secret_piece = st.one_of(
        st.sampled_from(["--params", "--conf-source", "--unknown"]).map(lambda o: [o, secret]),
        st.sampled_from(["--params", "--conf-source", "--unknown"]).map(
            lambda o: [f"{o}={secret}"]
        ),
        st.sampled_from(sorted(KEPT)).map(lambda o: [o, "--params", secret]),
        st.just([secret]),
    )
    pieces = draw(st.lists(st.one_of(kept.map(list), secret_piece), min_size=1, max_size=6))
    if not any(secret in token for piece in pieces for token in piece):
        pieces.append(["--params", secret])
    return ["/home/u/.venv/bin/kedro", "run", *(token for piece in pieces for token in piece)]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), secret=secrets)
def test_params_values_never_survive_in_any_chain(
    root: KedroCLI, data: st.DataObject, secret: str
) -> None:
    """Whatever the mix of options, a --params value reaches no destination's output, through
    every attribute that holds a command line.
    """
    assume(all(secret not in value for value in KEPT_VALUES))
    argv = data.draw(run_lines(secret))
    vocabulary = kedro_vocabulary(root, argv[1:])
    privacy = PrivacySettings()
    line = shlex.join(argv)
    for destination in ("files", "otlp", "heap"):
        chain = destination_chain(privacy, destination, vocabulary=vocabulary)
        out = chain.attributes(
            {"process.command_args": argv, "process.command_line": line, "command": line}
        )
        for value in out.values():
            words = value if isinstance(value, (list, tuple)) else str(value).split()
            assert all(secret not in str(word) for word in words), (destination, out)
    remote = destination_chain(privacy, "otlp", vocabulary=vocabulary).attributes(
        {"process.command_args": argv}
    )
    assert all(
        word in {"kedro", "run", MASK} or word.startswith("-")
        for word in remote["process.command_args"]
    )  # type: ignore[union-attr]
