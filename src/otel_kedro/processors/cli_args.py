"""Masking of command lines before they are recorded on ``process.command_args``.

Kedro commands follow kedro-telemetry 0.9.0's ``_mask_kedro_cli`` on the real click structure of
``KedroCLI``, built for the invoked command only (building every command's structure made the CLI
slow, kedro-plugins #794). Without that structure, and for any other program, option names and
Kedro's own command words are kept and every value becomes ``*****``: a typed value is never kept.

Faults of kedro-telemetry fixed here: ``-V`` passes as a version flag; whatever follows a leading
``--help``/``--version`` is masked instead of kept; an empty first argument is masked; argument
names (``name`` of ``pipeline create``) are not vocabulary, so a value equal to them is masked;
``-h`` is known wherever Kedro's ``help_option_names`` apply; official starter aliases come from
Kedro itself; a short option with its value attached (``-psecret``) keeps only ``-p``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

from otel_kedro.processors import MASK

if TYPE_CHECKING:  # click is imported where a vocabulary is built: not on `otel-kedro run`'s path
    import click

Vocabulary: TypeAlias = dict[str, "Vocabulary | None"]
"""Command words map to the invoked command's sub-vocabulary, option strings map to None."""

# Words of Kedro's own command tree (kedro 1.x, and otel-kedro's own commands). In the fallback
# (no vocabulary), only leading words from this set are kept.
KEDRO_COMMAND_WORDS: Final = frozenset(
    {
        "catalog", "create", "delete", "describe-datasets", "info", "ipython", "jupyter", "lab",
        "list", "list-patterns", "new", "notebook", "package", "pipeline", "registry", "resolve",
        "run", "server", "setup", "start", "starter", "describe", "resolve-patterns", "otel",
        "consent", "status", "grant", "deny", "check", "replay", "ls", "show", "report", "diff",
        "prune",
    }
)  # fmt: skip
# Kedro's single-dash options longer than one letter (``-lv`` of run, ``-ns``, ``-tc`` of new):
# elsewhere a single dash and more than one letter is read as ``-x`` with its value attached.
KEDRO_SHORT_OPTIONS: Final = frozenset({"-lv", "-ns", "-tc"})
_PASS_THROUGH: Final = frozenset({"--help", "-h", "--version", "-V", "-v"})
_STARTER_OPTIONS: Final = frozenset({"--starter", "-s"})
_LONG_OPTION: Final = re.compile(r"--[A-Za-z][A-Za-z0-9_-]*")
_SHORT_OPTION: Final = re.compile(r"-[A-Za-z]")
_PYTHON: Final = re.compile(r"(python|pypy|py)[0-9.]*w?(\.exe)?", re.IGNORECASE)
_NO_OPTIONS: Final[frozenset[str]] = frozenset()
# Values never kept, whatever ``keep_run_options`` says (``--params`` values may be secrets).
NEVER_KEPT: Final = frozenset({"--params", "--conf-source"})


def kedro_vocabulary(root: click.Command, args: Sequence[str]) -> Vocabulary | None:
    """The click structure of the command that ``args`` (after ``kedro``) invokes, or None if it
    is unknown; only the invoked path is looked up, so no other command (or plugin) is loaded.
    """
    import click

    if not args or args[0].startswith("-") or not isinstance(root, click.Group):
        return None
    context = click.Context(root, info_name="kedro", **root.context_settings)
    command = root.get_command(context, args[0])
    if command is None:
        return None
    return {args[0]: _structure(command, args[0], args[1:], context)}


def _structure(
    command: click.Command, name: str, rest: Sequence[str], parent: click.Context
) -> Vocabulary:
    """The option strings of ``command``, plus the sub-structure of the subcommand ``rest`` names
    (as kedro-telemetry's ``_recurse_cli``, but along the invoked path only and without arguments).
    """
    import click

    context = click.Context(command, info_name=name, parent=parent, **command.context_settings)
    vocabulary: Vocabulary = {
        option: None
        for param in command.get_params(context)
        if isinstance(param, click.Option)
        for option in (*param.opts, *param.secondary_opts)
    }
    if isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        subcommand = command.get_command(context, rest[0])
        if subcommand is not None:
            vocabulary[rest[0]] = _structure(subcommand, rest[0], rest[1:], context)
    return vocabulary


def mask_kedro_args(
    args: Sequence[str],
    vocabulary: Vocabulary | None,
    allow: Collection[str] = (),
    keep_run_options: Collection[str] = (),
) -> list[str]:
    """Mask the arguments after ``kedro``: kedro-telemetry's algorithm with a vocabulary, the
    conservative fallback without one; values in ``allow`` (e.g. allow-listed pipelines) are kept,
    and so are the values of ``kedro run`` options named in ``keep_run_options`` when the
    vocabulary knows them (never those of :data:`NEVER_KEPT`).
    """
    if not args:
        return []
    if args[0] in _PASS_THROUGH:
        return [args[0], *_mask_words(args[1:], allow, KEDRO_SHORT_OPTIONS, starters=True)]
    if vocabulary is None:
        return _mask_without_vocabulary(args, allow)
    return _mask_with_vocabulary(args, vocabulary, allow, frozenset(keep_run_options) - NEVER_KEPT)


def _mask_with_vocabulary(
    args: Sequence[str], vocabulary: Vocabulary, allow: Collection[str], keep: frozenset[str]
) -> list[str]:
    """kedro-telemetry's ``_mask_kedro_cli``: keep the command path, known options and official
    starters; an unknown command collapses to a single mask. On ``kedro run``, the values of the
    known options in ``keep`` are kept too (unless they look like an option themselves).
    """
    if not isinstance(vocabulary.get(args[0]), dict):
        return [MASK]
    masked: list[str] = []
    current = vocabulary
    index = 0
    while index < len(args) and not args[index].startswith("-"):
        sub = current.get(args[index])
        if sub is None:
            break
        masked.append(args[index])
        current = sub
        index += 1
    kept = keep if masked == ["run"] else frozenset()
    previous = ""
    for arg in args[index:]:
        if arg.startswith("-"):
            name, has_value, value = arg.partition("=")
            known = name in current
            if has_value:
                if known:
                    masked.append(name)
                    masked.append(_kept_value(value, allow, name, kept))
                else:
                    masked.append(MASK)  # an unknown ``--opt=value`` is masked whole
            else:
                masked.append(arg if known else MASK)
            previous = name if known and not has_value else ""
        else:
            masked.append(_kept_value(arg, allow, previous, kept))
            previous = ""
    return masked


def _kept_value(value: str, allow: Collection[str], option: str, kept: frozenset[str]) -> str:
    """The value of ``option``: kept when the option is in ``kept`` (and the value cannot be read
    as an option), else masked as usual.
    """
    if option in kept and value and not value.startswith("-"):
        return value
    return _value(value, allow, starter=option in _STARTER_OPTIONS)


def _mask_without_vocabulary(args: Sequence[str], allow: Collection[str]) -> list[str]:
    """Keep leading Kedro command words and option names, mask the rest; anything else first
    collapses to a single mask, as kedro-telemetry does for an unknown command.
    """
    index = 0
    while index < len(args) and args[index] in KEDRO_COMMAND_WORDS:
        index += 1
    if index == 0:
        return [MASK]
    return [*args[:index], *_mask_words(args[index:], allow, KEDRO_SHORT_OPTIONS, starters=True)]


def mask_other_args(argv: Sequence[str], allow: Collection[str] = ()) -> list[str]:
    """Mask any command's argv: keep the executable's base name (its directory may hold a user
    name) and option names, mask every value and positional not in ``allow``.
    """
    if not argv:
        return []
    return [_base_name(argv[0]), *_mask_words(argv[1:], allow, _NO_OPTIONS, starters=False)]


def _mask_words(
    args: Sequence[str], allow: Collection[str], short_options: frozenset[str], *, starters: bool
) -> list[str]:
    """Keep well-formed option names (``--opt=value`` becomes ``--opt`` and a mask) and mask all
    else; official starters after ``--starter``/``-s`` are kept when ``starters`` is set.
    """
    masked: list[str] = []
    previous = ""
    for arg in args:
        name, has_value, value = arg.partition("=")
        is_starter = starters and name in _STARTER_OPTIONS
        if _LONG_OPTION.fullmatch(name) or _SHORT_OPTION.fullmatch(name) or name in short_options:
            masked.append(name)
            if has_value:
                masked.append(_value(value, allow, starter=is_starter))
            previous = "" if has_value else name
        elif _SHORT_OPTION.fullmatch(arg[:2]):  # ``-pVALUE``: a short option, value attached
            masked += [arg[:2], _value(arg[2:], allow, starter=False)]
            previous = ""
        else:
            starter = starters and previous in _STARTER_OPTIONS
            masked.append(_value(arg, allow, starter=starter))
            previous = ""
    return masked


def _value(value: str, allow: Collection[str], *, starter: bool) -> str:
    """``value`` if it is allow-listed or an official starter in a starter position, else MASK."""
    if value in allow or (starter and value in _official_starters()):
        return value
    return MASK


@functools.cache
def _official_starters() -> frozenset[str]:
    """Kedro's own official starter aliases (``kedro starter list``), read from Kedro so they are
    never stale; imported only when a starter is named.
    """
    try:
        from kedro.framework.cli import starters
    except ImportError:  # pragma: no cover - Kedro is a dependency; mask every starter then
        return frozenset()
    specs = getattr(starters, "_OFFICIAL_STARTER_SPECS_DICT", {})
    return frozenset(alias for alias in specs if isinstance(alias, str))


def mask_command_args(
    argv: Sequence[str],
    vocabulary: Vocabulary | None = None,
    allow: Collection[str] = (),
    keep_run_options: Collection[str] = (),
) -> list[str]:
    """Mask a whole argv: ``kedro …`` (also ``kedro.exe``, ``python -m kedro``) becomes
    ``["kedro", *mask_kedro_args(…)]``, any other command goes through ``mask_other_args``.
    """
    kedro_args = _kedro_args(argv)
    if kedro_args is None:
        return mask_other_args(argv, allow)
    return ["kedro", *mask_kedro_args(kedro_args, vocabulary, allow, keep_run_options)]


def _kedro_args(argv: Sequence[str]) -> Sequence[str] | None:
    """The arguments after ``kedro`` when ``argv`` runs Kedro's CLI, else None."""
    if not argv:
        return None
    name = _base_name(argv[0]).lower()
    if name in {"kedro", "kedro.exe"}:
        return argv[1:]
    if _PYTHON.fullmatch(name) and len(argv) > 1:
        if tuple(argv[1:3]) == ("-m", "kedro"):
            return argv[3:]
        if argv[1] == "-mkedro":
            return argv[2:]
    return None


def _base_name(path: str) -> str:
    """The last component of a POSIX or Windows path, without the directory."""
    return re.split(r"[\\/]", path)[-1]


def command_path(masked_args: Sequence[str]) -> str:
    """The leading command words of masked args (``pipeline create``), for the span name."""
    words: list[str] = []
    for arg in masked_args:
        if arg.startswith("-") or arg == MASK:
            break
        words.append(arg)
    return " ".join(words)
