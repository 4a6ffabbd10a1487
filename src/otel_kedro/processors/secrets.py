"""Scrubbing of credentials from attribute values before anything is written or sent.

Every string otel-kedro records (span, event, resource and metric attributes) passes through
:func:`scrub_attributes`. Detection is shape-based, in this order: PEM private keys and bare
base64 private-key bodies, well-known token formats, AWS secret keys, URL userinfo (with or
without a scheme), HTTP auth schemes, ``key=value`` pairs and ``PASSWORD value`` phrases whose key
names a secret, and (optionally) long random-looking tokens, mixed-case or single-case. Matches
become ``*****``; the text around them is kept. Ordinary Kedro strings (dataset and node names,
paths, class names, run ids, UUIDs, trace and span ids, 16- and 32-hex digests) are left byte for
byte; longer hex (SHA-1, SHA-256) is masked, as an API key of that shape would be.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Collection, Mapping
from typing import Final

from opentelemetry.util.types import AttributeValue

from otel_kedro.processors import MASK
from otel_kedro.processors.lazy_pattern import lazy_compile
from otel_kedro.processors.letters import random_letters

# Scrubbing runs on at most this many characters beyond ``max_length``: anything still visible
# after clipping was judged with at least this much context to its right, and huge values
# (exception messages quoting a DataFrame) cost O(max_length) rather than O(len).
_CLIP_CONTEXT: Final = 1024

# --- Secret key names ------------------------------------------------------------------------
# Substrings of the key with separators removed and lower-cased: unambiguous anywhere
# (``dbPassword``, ``AWS_SECRET_ACCESS_KEY``, ``x-api-key``, ``kedro.credentials.x``).
_KEY_STEMS: Final = lazy_compile(
    "password|passwd|passphrase|credential|apikey|secretkey|privatekey|accesskey|clientsecret"
    "|sessionkey|connectionstring|connstr|accesstoken|refreshtoken|authtoken"
)
# Ambiguous words only count as the key's last word: ``github-token`` and ``db_pass`` are
# secrets, ``token_count``, ``tokenizer.name``, ``passenger_count`` and ``input_tokens`` are not.
_KEY_LAST_WORDS: Final = frozenset(
    {"pass", "pwd", "secret", "secrets", "token", "auth", "authorization", "creds", "sas",
     "sig", "signature", "cookie"}
)  # fmt: skip
_KEY_WORD: Final = lazy_compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_NON_ALNUM: Final = lazy_compile(r"[^a-z0-9]+")

# --- Text patterns ---------------------------------------------------------------------------
_NOT_ALNUM_BEFORE: Final = r"(?<![A-Za-z0-9])"
_PEM: Final = lazy_compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY-----|.*)",
    re.DOTALL,  # An unterminated block (a clipped message) is redacted to the end.
)
_TOKEN_FORMATS: Final = lazy_compile(
    _NOT_ALNUM_BEFORE + r"(?:gh[pousr]_[A-Za-z0-9]{20,}"  # GitHub classic tokens
    r"|github_pat_[A-Za-z0-9_]{20,}"  # GitHub fine-grained tokens
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*)?"  # JWT, even if clipped
    r"|AIza[A-Za-z0-9_-]{35}"  # Google API keys
    r"|[rs]k_(?:live|test)_[A-Za-z0-9]{10,}"  # Stripe-style secret keys
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9]))"  # AWS access key ids
)
_AWS_SECRET: Final = lazy_compile(
    r"(?i:aws[_-]?secret[_-]?(?:access[_-]?)?key)[ \t\"':=]{1,8}"
    r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
)
# ``scheme://user:password@host``: with a colon the password may hold ``/`` (unencoded base64)
# and runs to the last ``@`` before the host. That also masks ``host:8080/path@x`` (rare, and the
# safe side: ``3/AAAA`` is as likely a password as a port). Without a colon the userinfo holds
# no ``/`` and is masked only when it looks like a token. The 512 bound keeps chained ``a://b:``
# text linear; a longer password without ``/`` is still matched.
_URL_USERINFO: Final = lazy_compile(
    r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*://)"
    r"(?:([^\s/@:\"'<>]*:[^\s\"'<>]{0,512})|([^\s/@\"'<>]*(?:@[^\s/@\"'<>]*)*))"
    r"@(?=[^\s/@])"
)
# ``user:password@host`` without a scheme (``user:Pw9x@127.0.0.1:9/x.csv``): the password runs
# to the last ``@`` that a host name or address (optional port) follows; both parts are masked.
_BARE_USERINFO: Final = lazy_compile(
    r"(?<![\w.~%+/:@-])[\w.~%+-]{1,128}:(?!//)[^\s\"'<>]{1,256}@"
    r"(?=[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]{1,5})?(?:[/\s\"',;)\]}]|$))"
)
# ``PASSWORD hunter2xyz99``: a secret's name, spaces, then its value. After an upper-case name
# (an environment dump, a config listing) any word is the value; after a lower-case one only a
# word that does not read as prose (a digit, a symbol or mixed case), so ``the password is``
# keeps ``is``.
_SPACED_PAIR: Final = lazy_compile(
    r"(?<![\w.-])(?P<key>(?i:password|passwd|passphrase|pwd|secret|token|api[_-]?key"
    r"|access[_-]?key|secret[_-]?key|private[_-]?key))[ \t]+(?P<value>[^\s\"',;]+)"
)
_PROSE: Final = lazy_compile(r"[a-z]+|[A-Z][a-z]*")
# DER private keys in base64 without their PEM lines: PKCS#1 and PKCS#8 RSA/DSA (``MIIEvQIBADAN``,
# ``MIIEowIBAAK``), encrypted PKCS#8 (``MIIFNTBfBgkqhkiG9w0BBQ0``), EC (``MHcCAQEE``,
# ``MIGHAgEA``), Ed25519 (``MC4CAQAw``) and OpenSSH (``b3BlbnNzaC1rZXktdjE``). The body runs to the
# end of the base64 (across line breaks, real or escaped).
_KEY_BODY: Final = lazy_compile(
    r"(?<![A-Za-z0-9+/])(?:MII[A-Za-z0-9+/]{3}IBA[AD]|MII[A-Za-z0-9+/]{5}BgkqhkiG9w0BBQ0"
    r"|MIG[A-Za-z0-9+/]AgE[AB]|MHcCAQEE|MC4CAQAw|b3BlbnNzaC1rZXktdjE)"
    r"(?:[A-Za-z0-9+/=]|\\n|\r?\n)*"
)
_BEARER: Final = lazy_compile(r"(?i:\bbearer)[ \t]+([^\s\"'<>]{8,})")
_BASIC: Final = lazy_compile(r"\bBasic[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])")
_TOKEN_SCHEME: Final = lazy_compile(r"\bToken[ \t]+([A-Za-z0-9._~+/=-]{16,})")
_TITLE_WORD: Final = lazy_compile(r"[A-Z]?[a-z]+")
# The word after a secret-named option is its value unless it reads as the next option's name:
# one or two dashes, then letter-only words joined by ``-``, ``_`` or ``.`` (``-v``, ``--env``,
# ``--dry-run``). A dash-led word holding a digit or a symbol (``-0000000000A``, ``-a!b@c``) is a
# value: generated secrets start with ``-`` too, and an option name with a digit after a secret
# option is rare enough to lose rather than leak.
_OPTION_NAME: Final = r"--?[A-Za-z]+(?:[-_.][A-Za-z]+)*"
_OPTION: Final = lazy_compile(_OPTION_NAME)
# ``name=``, ``name: ``, ``"name": ``, ``'name'=``, and command-line ``--name value`` unless
# the value is the next option (``--token -v``); the value is matched separately.
_PAIR_HINT: Final = lazy_compile("pass|pwd|secret|token|key|auth|cred|sas|sig|cookie|conn")
_PAIR_HEAD: Final = lazy_compile(
    r"(?<![\w.-])(?:([\"']?)([\w.-]+)\1[ \t]*[:=][ \t]*"
    r"|(--?[\w.-]+)[ \t]+(?!" + _OPTION_NAME + r"(?:\s|$))(?=\S))"
)
# A value ends at whitespace, a quote, or a ``,;&`` that starts the next ``name=`` pair, so a
# ``,`` or ``&`` inside a password does not leave its tail visible.
_PAIR_VALUE: Final = lazy_compile(
    r"""(?P<scheme>(?i:bearer|basic|token|digest|negotiate|ntlm)[ \t]+(?=\S))?
    (?P<value>"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?
       |[^\s"',;&]*(?:[,;&]+(?![\w.-]+[ \t]*[=:])[^\s"',;&]+)*)""",
    re.VERBOSE,
)

# --- High-entropy tokens ---------------------------------------------------------------------
# Candidates are runs of base64/base64url characters, 24+ long (144 random bits in base64;
# shorter runs are mostly identifiers and carry too little signal to judge). ``=`` counts only
# as trailing padding so ``name=value`` splits in two, and ``.``/``:`` always split, which keeps
# FQCNs, dotted dataset names, timestamps and ``params:x`` out.
_MIN_RANDOM_LENGTH: Final = 24
_RUN: Final = lazy_compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{24,}={0,2}(?![A-Za-z0-9+/_-])")
# Never secrets: W3C traceparent, canonical UUIDs, and exactly 16 or 32 hex digits (OTel span
# and trace ids, MD5 sums, MLflow run ids). Other hex of 24+ digits is treated as a token, so a
# 40-hex API key is masked and so, unavoidably, is a full git SHA-1 or a SHA-256 digest.
_ID_SHAPE: Final = lazy_compile(
    r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}"
    r"|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{32}"
)
# A run is judged on its ``-_/+``-separated segments, skipping neutral ones: numbers, short hex
# (``1a2b3c4d`` node suffixes, UUID parts, short git SHAs) and 16/32-hex ids.
_SEGMENT_SPLIT: Final = lazy_compile(r"[-_/+]+")
_SEPARATOR_CHARS: Final = lazy_compile(r"[-_/+]")
_NEUTRAL: Final = lazy_compile(r"[0-9]+|[0-9A-Fa-f]{1,12}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{32}")
_HEX: Final = lazy_compile(r"[0-9A-Fa-f]+")
_CONSONANTS: Final = lazy_compile(r"[b-df-hj-np-tv-xz]{5,}", re.IGNORECASE)
_VOWELS: Final = frozenset("aeiouAEIOU")
# score = class changes per char - 0.4 * share of pronounceable words + 1.5 * entropy / log2(n).
# Random base64/alphanumerics of 24-40 chars score 1.4-2.0 (1st-99th percentile: a class change
# at ~45% of positions, few words, near-maximal entropy); names like ``CSVDataset`` or
# ``model_v2_input_table_node`` score 0.75-1.05. Fitted on random tokens against the 31,780
# distinct non-hex 24+ runs in the Python sources of this project's environment: at 1.18 about
# 1 in 6,000 random 24-char (1 in 40,000 32-char) alphanumerics is missed, and 0.2% of those
# runs are masked (jargon such as ``TestFY5253NearestEndMonth``). Single-case random strings are
# not detected.
_MIN_SCORE: Final = 1.18


def _class_changes(segment: str) -> int:
    """Count character-class changes (lower/upper/digit), ignoring Title-case upper->lower."""
    changes = 0
    previous = ""
    for char in segment:
        kind = "u" if char.isupper() else "l" if char.islower() else "d"
        if previous and kind != previous and not (previous == "u" and kind == "l"):
            changes += 1
        previous = kind
    return changes


def _pronounceable(word: str) -> bool:
    """Whether a camel-case word reads like language (vowels, no 5-consonant cluster)."""
    vowels = sum(char in _VOWELS for char in word)
    long_word = len(word) >= 3 and word.isalpha()
    return long_word and vowels * 5 >= len(word) and not _CONSONANTS.search(word)


def _entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())


def _looks_random(token: str) -> bool:
    """Whether a base64-alphabet run looks like a generated secret rather than a name or path."""
    core = token.rstrip("=")
    letters = _SEPARATOR_CHARS.sub("", core)
    if (letters.lower() != letters) + (letters.upper() != letters) + (not letters.isalpha()) < 2:
        # A single character class: words, numbers, CONSTANTS, or letters drawn at random.
        return any(random_letters(segment) for segment in _SEGMENT_SPLIT.split(core))
    if len(core) < _MIN_RANDOM_LENGTH or _ID_SHAPE.fullmatch(core):
        return False
    judged = changes = wordy = 0
    for segment in _SEGMENT_SPLIT.split(core):
        if _NEUTRAL.fullmatch(segment):
            continue
        if len(segment) >= _MIN_RANDOM_LENGTH and _HEX.fullmatch(segment):
            return True
        judged += len(segment)
        changes += _class_changes(segment)
        wordy += sum(len(w) for w in _KEY_WORD.findall(segment) if _pronounceable(w))
    if judged < 12:
        return False  # only numbers and ids
    score = (changes - 0.4 * wordy) / judged + 1.5 * _entropy(core) / math.log2(len(core))
    return score >= _MIN_SCORE


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether an attribute or parameter name says its value is a secret (``db.password``),
    judged on its words so ``passenger_count`` and ``tokenizer.name`` stay ordinary.
    """
    if _KEY_STEMS.search(_NON_ALNUM.sub("", key.lower())):
        return True
    words = [word for word in _KEY_WORD.findall(key) if not word.isdigit()]
    return bool(words) and words[-1].lower() in _KEY_LAST_WORDS


def _has_token_prefix(text: str) -> bool:
    """Cheap gate for :data:`_TOKEN_FORMATS` (chained ``in`` beats a regex or ``any()``)."""
    return (
        "gh" in text or "xox" in text or "eyJ" in text or "AIza" in text or "k_" in text
        or "AKIA" in text or "ASIA" in text
    )  # fmt: skip


def _mask_group(match: re.Match[str]) -> str:
    """Replace group 1 of a match, keeping the rest (``Bearer *****``)."""
    start, end = match.span(1)
    whole = match.group()
    offset = match.start()
    return whole[: start - offset] + MASK + whole[end - offset :]


def _mask_userinfo(match: re.Match[str]) -> str:
    """Mask ``user:pass@`` always, and a lone userinfo only when it looks like a token."""
    scheme, with_colon, userinfo = match.group(1, 2, 3)
    if with_colon or ":" in userinfo or _TOKEN_FORMATS.search(userinfo) or _looks_random(userinfo):
        return f"{scheme}{MASK}@"
    return match.group()


def _mask_spaced_pair(match: re.Match[str]) -> str:
    """Mask the word after a secret's name unless it reads as prose after a lower-case name."""
    key, value = match["key"], match["value"]
    if value == MASK or (
        not key.isupper() and (_PROSE.fullmatch(value) or _OPTION.fullmatch(value))
    ):
        return match.group()
    return match.group()[: match.start("value") - match.start()] + MASK


def _mask_basic(match: re.Match[str]) -> str:
    """Mask a base64-shaped ``Basic`` credential, but not a plain word (``Basic Usage``)."""
    value = match.group(1)
    if len(value) % 4 or _TITLE_WORD.fullmatch(value):
        return match.group()
    return _mask_group(match)


def _scrub_pairs(text: str) -> str:
    """Mask the value of every ``name=value`` / ``"name": "value"`` pair whose name is secret."""
    parts: list[str] = []
    pos = 0
    while head := _PAIR_HEAD.search(text, pos):
        if is_secret_key(head.group(2) or head.group(3)):
            match = _PAIR_VALUE.match(text, head.end())
            value = match.group("value") if match else ""
            quote = value[:1] if value[:1] in {'"', "'"} else ""
            closed = bool(quote) and len(value) > 1 and value.endswith(quote)
            inner = value[len(quote) : len(value) - closed]
            if match and inner:
                parts += [text[pos : match.start("value")], quote, MASK, quote * closed]
                pos = match.end()
                continue
        parts.append(text[pos : head.end()])
        pos = head.end()
    parts.append(text[pos:])
    return "".join(parts)


# A printed argv list, as in ``CalledProcessError``: ``['tool', '--api-key', 'value']``.
_QUOTED_OPTION: Final = lazy_compile(
    r"""(?P<q>['"])(?P<option>--?[\w.-]+)(?P=q)\s*,\s*(?P<q2>['"])(?P<value>[^'"]*)(?P=q2)"""
)


def _scrub_quoted_options(text: str) -> str:
    """Mask values that follow secret-named options in printed argument lists."""
    if "'-" not in text and '"-' not in text:
        return text
    return _QUOTED_OPTION.sub(_mask_quoted_option, text)


def _mask_quoted_option(match: re.Match[str]) -> str:
    """Mask the element after a secret-named option in a printed argument list."""
    if not match["value"] or not is_secret_key(match["option"]):
        return match.group()
    start = match.start("value") - match.start()
    return match.group()[:start] + MASK + match["q2"]


def _is_secret_option(arg: str) -> bool:
    """Whether a command-line word is an option naming a secret whose value comes next."""
    return arg.startswith("-") and "=" not in arg and is_secret_key(arg)


def _mask_random(match: re.Match[str]) -> str:
    """Replace a high-entropy run; keep anything that reads like a name, path or id."""
    return MASK if _looks_random(match.group()) else match.group()


_NUMBERS: Final = frozenset((int, float, bool))
# Attribute values repeat endlessly (dataset names, types, node names): scrubbing is pure, so
# short values are remembered. Long ones (exception messages) are rarely repeated.
_CACHED_LENGTH: Final = 512
# Distinct values remembered per cache: a project's repeating names fit many times over; a
# run of 10,000 nodes, whose names never repeat, fills them: 2.4 MB for both at 4,096 (11.4 MB
# at 16,384).
_CACHED_VALUES: Final = 4096


def scrub_text(text: str, *, max_length: int | None = 4096, entropy: bool = True) -> str:
    """Replace credential-shaped substrings of ``text`` with ``*****`` and clip the result to
    ``max_length`` characters, so that no secret reaches a file or an exporter.
    """
    if len(text) <= _CACHED_LENGTH:
        return _scrub_short(text, max_length, entropy)
    return _scrub(text, max_length, entropy)


@functools.lru_cache(maxsize=_CACHED_VALUES)
def _scrub_short(text: str, max_length: int | None, entropy: bool) -> str:
    return _scrub(text, max_length, entropy)


def _scrub_shapes(text: str) -> str:
    """Every shape pass but the entropy one, each gated by a cheap substring test: most values
    contain none of the shapes.
    """
    lower = text.lower()
    if "private key-----" in lower:
        text = _PEM.sub(MASK, text)
    if "MI" in text or "MHcC" in text or "MC4C" in text or "b3Blbn" in text:
        text = _KEY_BODY.sub(MASK, text)
    if _has_token_prefix(text):
        text = _TOKEN_FORMATS.sub(MASK, text)
    if "secret" in lower:
        text = _AWS_SECRET.sub(_mask_group, text)
    if "://" in text:
        text = _URL_USERINFO.sub(_mask_userinfo, text)
    if "@" in text and ":" in text:
        text = _BARE_USERINFO.sub(f"{MASK}@", text)
    if "bearer" in lower:
        text = _BEARER.sub(_mask_group, text)
    if "Basic" in text:
        text = _BASIC.sub(_mask_basic, text)
    if "Token" in text:
        text = _TOKEN_SCHEME.sub(_mask_group, text)
    if ("=" in text or ":" in text or "-" in text) and _PAIR_HINT.search(lower):
        text = _scrub_pairs(text)
    if (" " in text or "\t" in text) and _PAIR_HINT.search(lower):
        text = _SPACED_PAIR.sub(_mask_spaced_pair, text)
    return text


def _scrub(text: str, max_length: int | None, entropy: bool) -> str:
    if max_length is not None and max_length < 0:
        raise ValueError(f"max_length must be >= 0 or None, not {max_length}")
    dropped = 0
    if max_length is not None and len(text) > max_length + _CLIP_CONTEXT:
        dropped = len(text) - (max_length + _CLIP_CONTEXT)
        text = text[: max_length + _CLIP_CONTEXT]
    text = _scrub_shapes(text)
    text = _scrub_quoted_options(text)
    if entropy and len(text) >= _MIN_RANDOM_LENGTH:
        text = _RUN.sub(_mask_random, text)
    # Clip only after scrubbing: what is cut away was already masked, never half a secret.
    if max_length is not None and (len(text) > max_length or dropped):
        dropped += max(0, len(text) - max_length)
        text = f"{text[:max_length]}…[clipped {dropped} chars]"
    return text


def scrub_value(
    value: AttributeValue, *, max_length: int | None = 4096, entropy: bool = True
) -> AttributeValue:
    """Scrub a string, or every string inside a sequence or mapping, leaving other types alone."""
    if isinstance(value, str):
        return scrub_text(value, max_length=max_length, entropy=entropy)
    if isinstance(value, bool | int | float | bytes) or value is None:
        return value
    if isinstance(value, Mapping):
        return scrub_attributes(value, max_length=max_length, entropy=entropy)
    items: list[AttributeValue] = []
    after_secret_option = False  # argv lists: ``["--api-key", "<value>"]``
    for item in value:
        if after_secret_option and isinstance(item, str) and not _OPTION.fullmatch(item):
            items.append(MASK)
        else:
            items.append(scrub_value(item, max_length=max_length, entropy=entropy))
        after_secret_option = isinstance(item, str) and _is_secret_option(item)
    return items if isinstance(value, list) else tuple(items)


def scrub_attributes(
    attributes: Mapping[str, AttributeValue] | None,
    *,
    max_length: int | None = 4096,
    entropy: bool = True,
    exempt: Collection[str] = (),
) -> dict[str, AttributeValue]:
    """A scrubbed copy of ``attributes``: secret-named keys lose their whole value, every other
    string is scrubbed, and keys in ``exempt`` pass unchanged.
    """
    scrubbed: dict[str, AttributeValue] = {}
    for key, value in (attributes or {}).items():
        kind = type(value)  # the common kinds first: this runs for every attribute of a run
        if key in exempt:
            scrubbed[key] = value
        elif kind is str and len(value) <= _CACHED_LENGTH:  # type: ignore[arg-type]
            scrubbed[key] = _scrub_item_cached(key, value, max_length, entropy)
        elif kind in _NUMBERS:  # not cached: most are unique (a node's CPU time) and would
            # evict the strings that repeat; their keys repeat, so those are
            scrubbed[key] = MASK if _secret_key_cached(key) else value
        elif isinstance(value, _CACHEABLE) or (
            isinstance(value, str) and len(value) <= _CACHED_LENGTH
        ):
            try:
                scrubbed[key] = _scrub_item_cached(key, value, max_length, entropy)
            except TypeError:  # a log record's tuple holding a mapping is not hashable
                scrubbed[key] = _scrub_item(key, value, max_length, entropy)
        else:
            scrubbed[key] = _scrub_item(key, value, max_length, entropy)
    return scrubbed


def _scrub_item(
    key: str,
    value: AttributeValue,
    max_length: int | None,
    entropy: bool,
) -> AttributeValue:
    if is_secret_key(key):
        if isinstance(value, list | tuple):
            return [MASK] if isinstance(value, list) else (MASK,)
        return MASK
    return scrub_value(value, max_length=max_length, entropy=entropy)


# The same attributes recur on every span of a run (dataset names and types, function names,
# tags): remember short, hashable ones. ``typed`` keeps ``1`` and ``True`` apart.
_scrub_item_cached = functools.lru_cache(maxsize=_CACHED_VALUES, typed=True)(_scrub_item)
_secret_key_cached = functools.lru_cache(maxsize=_CACHED_VALUES)(is_secret_key)
_CACHEABLE: Final = (tuple, int, float)
