"""Secret scrubbing: credential shapes are masked, ordinary Kedro strings pass byte for byte."""

from __future__ import annotations

import base64
import copy
import importlib.util
import random
import re
import string
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from otel_kedro.processors.letters import random_letters
from otel_kedro.processors.secrets import (
    MASK,
    is_secret_key,
    scrub_attributes,
    scrub_text,
    scrub_value,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aumhG3b\n"
    "y1jgFRbNTmOR0oN0NybVRwZFtIh8zGbPCcdiN3R4mt2dH\n-----END RSA PRIVATE KEY-----"
)

BENIGN = [
    "params:model.alpha",
    "params:model_options.test_size",
    "north.region_sales",
    "companies",
    "preprocess_companies_node",
    "create_model_input_table_node",
    "preprocessed_shuttles_and_companies_v2",
    "func__1a2b3c4d",
    "kedro_datasets.pandas.csv_dataset.CSVDataset",
    "kedro_datasets_experimental.netcdf.NetCDFDataset",
    "HFTransformerPipelineDataset",
    "spaceflights.pipelines.data_processing.nodes.preprocess_companies",
    "2026-11-22T02.16.28.681Z",
    "2026-11-22T02:16:28.681Z",
    TRACE_ID,
    SPAN_ID,
    f"00-{TRACE_ID}-{SPAN_ID}-01",
    "123e4567-e89b-12d3-a456-426614174000",
    "run-123e4567-e89b-12d3-a456-426614174000",
    f"mlruns/1/{TRACE_ID}/artifacts",
    "a1b2c3d",
    "9fceb02",
    "_OTEL_KEDRO_RUN_1A2B3C4D5E6F7A8B",
    "data/01_raw/companies.csv",
    "data/01_raw/companies_sample_data_for_testing.csv",
    "data/06_models/regressor.pickle/2026-11-22T02.16.28.681Z/regressor.pickle",
    "/home/user/projects/spaceflights_pandas_viz/conf/base/catalog.yml",
    "s3://my-bucket/data/01_raw/companies.csv",
    "ssh://git@github.com/kedro-org/kedro.git",
    "user@example.com",
    "kedro run --pipeline data_science --env local",
    "CSVDataset(filepath=data/01_raw/companies.csv, protocol=file, save_args={'index': False})",
    "ValueError: could not convert string to float: 'n/a'",
    "token_count=512 max_tokens=1024 passenger_count: 3 tokenizer.name=bert",
    "Basic Usage",
    "kedro run --pipeline data-science --tags key-metrics --token-count 5",
    "cmd --token -v",
    "the bearer",
    # Near the shapes of issue 10's gaps, and kept: prose after a lower-case secret name, SSH
    # remotes, a single-case word run, roman numerals, UUIDs and 16/32-hex ids.
    "the password is wrong",
    "invalid token for user",
    "token count 5",
    "git@github.com:kedro-org/kedro.git",
    "blackrightpointingtriangle",
    "preprocesscompaniesnode",
    "MIIIXVMMV",
    "model_input_table",
    "",
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_kedro_strings_pass_unchanged(text: str) -> None:
    assert scrub_text(text) == text
    assert scrub_attributes({"kedro.dataset.name": text}) == {"kedro.dataset.name": text}


def test_kedro_module_paths_and_names_pass_unchanged() -> None:
    names: set[str] = set()
    for module in ("kedro", "kedro_datasets"):
        spec = importlib.util.find_spec(module)
        assert spec is not None
        assert spec.origin is not None
        root = Path(spec.origin).parent
        for path in root.rglob("*.py"):
            dotted = ".".join(path.relative_to(root.parent).with_suffix("").parts)
            names |= {str(path), dotted}
            source = path.read_text(encoding="utf-8", errors="ignore")
            for match in re.finditer(r"^\s*(?:def|class)\s+(\w+)", source, re.MULTILINE):
                names |= {match.group(1), f"{dotted}.{match.group(1)}"}
    assert len(names) > 500
    assert [name for name in names if scrub_text(name) != name] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # URL userinfo
        ("postgresql://user:pass@host/db", "postgresql://*****@host/db"),
        ("redis://:s3cret@cache:6379/0", "redis://*****@cache:6379/0"),
        ("mysql://admin:p@ss@db:3306/x", "mysql://*****@db:3306/x"),
        ("postgresql://admin:ab/cd+ef==@db/x", "postgresql://*****@db/x"),
        (
            "https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/o/r",
            "https://*****@github.com/o/r",
        ),
        ("https://x-access-token:abc123@github.com", "https://*****@github.com"),
        ("postgresql://admin:3/AAAA@db/x", "postgresql://*****@db/x"),
        (
            "see http://host:8080/a@b",
            "see http://*****@b",
        ),  # over-masked: a port looks like a password
        # key/value pairs
        ("--params a=1,db_password=s3cr3t,b=2", "--params a=1,db_password=*****,b=2"),
        ("password=hunter2", "password=*****"),
        ("PASSWORD: hunter2 ok", "PASSWORD: ***** ok"),
        ("AWS_SECRET_ACCESS_KEY=abc", "AWS_SECRET_ACCESS_KEY=*****"),
        ("github-token: abc", "github-token: *****"),
        ('{"password": "a b", "user": "u"}', '{"password": "*****", "user": "u"}'),
        ("{'token': 'x'}", "{'token': '*****'}"),
        ("'token'='x'", "'token'='*****'"),
        ('password="a b" rest', 'password="*****" rest'),
        ("dbPassword=x1;apiKey=y2;user=z", "dbPassword=*****;apiKey=*****;user=z"),
        ("https://h/p?user=u&password=a&b&x=1", "https://h/p?user=u&password=*****&x=1"),
        ("client_secret=abc&scope=read", "client_secret=*****&scope=read"),
        ("conn_str=Server=x;Password=y;", "conn_str=*****;Password=*****;"),
        ("note:passwd=abc", "note:passwd=*****"),
        ("sas_token=sv2020sig", "sas_token=*****"),
        ("--db-password=hunter2", "--db-password=*****"),
        ("--db-password hunter2 --env local", "--db-password ***** --env local"),
        ("sync --api-key 00000000000A target", "sync --api-key ***** target"),
        ("sync --password -a!b@c -v", "sync --password ***** -v"),
        # a dash-led value with a digit is no option name (found by Hypothesis on the status)
        ("sync --api-key -0000000000A target", "sync --api-key ***** target"),
        ("sync --api-key --abcdefgh1 x", "sync --api-key ***** x"),
        ("sync --token --dry-run x", "sync --token --dry-run x"),  # the next option stays
        ("sync --token -v --env local", "sync --token -v --env local"),
        ("credentials: dev_s3", "credentials: *****"),
        ('password=""', 'password=""'),
        # HTTP auth
        ("Authorization: Bearer abc.def", "Authorization: Bearer *****"),
        ("authorization: basic dXNlcjpwYXNz", "authorization: basic *****"),
        ("curl -H 'Bearer abcdefgh12'", "curl -H 'Bearer *****'"),
        ("Basic dXNlcjpwYXNz", "Basic *****"),
        ("Token 0123456789abcdef0123", "Token *****"),
        # AWS
        ("key AKIAIOSFODNN7EXAMPLE here", "key ***** here"),
        ("ASIAY34FZKBOKMUTVV7A", MASK),
        (
            "aws_secret_access_key  wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key  *****",
        ),
        # PEM
        (f"key:\n{PEM}\nafter", "key:\n*****\nafter"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", MASK),
        # token formats
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", MASK),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", MASK),
        ("slack xoxb-1234567890-abcdefghij", "slack *****"),
        (f"jwt={JWT}", "jwt=*****"),
        (f"{JWT[:60]}", MASK),
        ("AIzaSyA-1234567890abcdefghijklmnopqrstu", MASK),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", MASK),
        ("rk_test_4eC39HqLyjWDarjtT1zdp7dc", MASK),
        # high-entropy tokens
        ("value Xk9pQ2vR7mT4wZ1bN8cF3hJ6 end", "value ***** end"),
        ("sha da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha *****"),
        ("b64 q2Xy+7Pw/9LmZ0aBcD1eFg3HiJ4kLmN5oP6=", "b64 *****"),
        # issue 10, case 2: the four gaps
        ("azodxeykywncsgkfougcbfafwllquxam", MASK),
        ("got azodxeykywncsgkfougcbfafwllquxam back", "got ***** back"),
        ("user:Pw9xQzR7vLmT2k@127.0.0.1:9/x.csv", "*****@127.0.0.1:9/x.csv"),
        ("reading user:Pw9xQzR7vLmT2k@db.internal failed", "reading *****@db.internal failed"),
        ("PASSWORD hunter2xyz99", "PASSWORD *****"),
        ("password hunter2xyz99 rejected", "password ***** rejected"),
        ("TOKEN abcdefghij", "TOKEN *****"),
        ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", MASK),
        ("key MIIEowIBAAKCAQEAyIbAYC3REhB3QLbliFjx3ts8\\nQ2x9 end", "key ***** end"),
        ("MHcCAQEEINTqtqBqAI3XIZ7wvXOnexWvoA+ucJZT", MASK),
        ("MC4CAQAwBQYDK2VwBCIEIChJXVxyls6okqPVyUjW", MASK),
        ("MIIFNTBfBgkqhkiG9w0BBQ0wUjAxBgkqhkiG9w0B", MASK),
        ("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9u", MASK),
    ],
)
def test_secret_shapes_are_masked(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_entropy_can_be_turned_off() -> None:
    text = "value Xk9pQ2vR7mT4wZ1bN8cF3hJ6 end"
    assert scrub_text(text, entropy=False) == text
    assert scrub_text("password=Xk9pQ2vR7mT4wZ1bN8cF3hJ6", entropy=False) == "password=*****"


def _random_tokens() -> list[str]:
    rng = random.Random(20261122)  # noqa: S311 - reproducible test data, not cryptography
    alnum = string.ascii_letters + string.digits
    tokens: list[str] = []
    for _ in range(500):
        tokens.append(base64.b64encode(rng.randbytes(24)).decode())
        tokens.append(base64.urlsafe_b64encode(rng.randbytes(32)).decode().rstrip("="))
        tokens.append("".join(rng.choice(alnum) for _ in range(40)))
        tokens.append(rng.randbytes(20).hex())
        tokens.append(rng.randbytes(32).hex())
    return tokens


def test_random_lowercase_tokens_are_masked_and_word_runs_are_not() -> None:
    """Single-case random letters (issue 10): 32 letters are caught at least 99 % of the time
    (measured 99.3 %; 0.7 % read as words), words run together never.
    """
    rng = random.Random(20261204)  # noqa: S311 - reproducible test data
    tokens = ["".join(rng.choice(string.ascii_lowercase) for _ in range(32)) for _ in range(2000)]
    missed = [t for t in tokens if scrub_text(f"got {t} back") == f"got {t} back"]
    assert len(missed) <= 20, missed[:5]
    upper = [t.upper() for t in tokens[:200]]
    assert sum(scrub_text(t) == MASK for t in upper) >= 195
    words = ["whiterightpointingsmalltriangle", "tortoiseshellbracketrightsmall",
             "internationalizationsettings", "datasourceissqlserverinstance"]  # fmt: skip
    assert [w for w in words if scrub_text(w) != w] == []


def test_random_tokens_in_free_text_are_masked() -> None:
    # Fixed seed: the detector is statistical (about 1 miss in 40,000 for 32-char alphanumerics,
    # measured), so a fixed sample keeps this deterministic.
    missed = [t for t in _random_tokens() if scrub_text(f"got {t} back") != "got ***** back"]
    assert missed == []


@pytest.mark.parametrize(
    "key",
    [
        "db.password",
        "DB_PASSWORD",
        "dbPassword",
        "http.request.header.authorization",
        "Proxy-Authorization",
        "aws_secret_access_key",
        "AWS_SECRET_ACCESS_KEY",
        "SecretAccessKey",
        "api-key",
        "x_api_key",
        "APIKey",
        "kedro.credentials.x",
        "github-token",
        "GITHUB_TOKEN",
        "githubToken",
        "client_secret",
        "private_key_id",
        "session_key",
        "connection_string",
        "conn_str",
        "db_pass",
        "pwd",
        "sas_token",
        "x-amz-signature",
        "http.request.header.cookie",
        "token",
        "secret",
        "auth",
        "token2",
    ],
)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "kedro.dataset.name",
        "kedro.dataset.type",
        "process.command_args",
        "service.name",
        "passenger_count",
        "tokenizer.name",
        "token_count",
        "gen_ai.usage.input_tokens",
        "max_tokens",
        "kedro.node.inputs",
        "cicd.pipeline.run.id",
        "code.function.name",
        "bypass",
        "keyboard_layout",
        "monkey",
        "author",
        "authentication_method",
        "secretary.name",
        "passage",
        "kedro.session.id",
        "error.type",
        "",
    ],
)
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_clipping_bounds_the_length_and_says_how_much() -> None:
    text = "x" * 5000
    clipped = scrub_text(text, max_length=100)
    assert clipped == "x" * 100 + "…[clipped 4900 chars]"
    assert scrub_text(text, max_length=None) == text
    assert scrub_text("short", max_length=5) == "short"
    assert scrub_text("abc", max_length=0) == "…[clipped 3 chars]"
    with pytest.raises(ValueError, match="max_length"):
        scrub_text("abc", max_length=-1)


PLANTED = "Zq7Xv9Lm2Pw4Rt6Y"


@pytest.mark.parametrize("cut", range(60))
def test_clipping_never_exposes_part_of_a_secret(cut: int) -> None:
    text = f"conn password={PLANTED} and https://u:{PLANTED}@h/x Bearer {PLANTED}"
    clipped = scrub_text(text, max_length=cut)
    assert len(clipped) <= cut + len(f"…[clipped {len(text)} chars]")
    assert not any(PLANTED[i : i + 4] in clipped for i in range(len(PLANTED) - 3))


def test_secret_straddling_the_pre_clip_window_is_still_masked() -> None:
    # Values far longer than max_length are scrubbed on a window of max_length + 1024 chars.
    body = "A" * 3000
    text = "x" * 90 + PEM.replace("MIIE", "MIIE" + body)
    assert scrub_text(text, max_length=100).startswith("x" * 90 + "*****")
    rng = random.Random(1)  # noqa: S311 - reproducible test data, not cryptography
    blob = base64.b64encode(rng.randbytes(3000)).decode()
    assert scrub_text("y" * 90 + " " + blob, max_length=100).startswith("y" * 90 + " *****")


def test_scrub_value_types() -> None:
    assert scrub_value("password=x") == "password=*****"
    assert scrub_value(["a", "password=x"]) == ["a", "password=*****"]
    assert scrub_value(("a", "token: x")) == ("a", "token: *****")
    assert isinstance(scrub_value(("a",)), tuple)
    argv = ["/opt/sync", "--api-key", "k3y", "target", "--token", "-v", "--pwd=x", "--secret"]
    assert scrub_value(argv) == [
        "/opt/sync", "--api-key", MASK, "target", "--token", "-v", "--pwd=*****", "--secret"
    ]  # fmt: skip
    argv = ["sync", "--api-key", "-0000000000A", "target", "--token", "--dry-run"]
    assert scrub_value(argv) == ["sync", "--api-key", MASK, "target", "--token", "--dry-run"]
    for value in (3, 2.5, True, None, b"password=x", [1, 2], (True, False)):
        assert scrub_value(value) == value
    assert scrub_value({"db.password": "x", "url": "https://u:p@h"}) == {
        "db.password": MASK,
        "url": "https://*****@h",
    }


def test_scrub_attributes() -> None:
    attributes = {
        "db.password": "hunter2",
        "api-key": ["k1", "k2"],
        "kedro.credentials.tuple": ("a",),
        "http.request.header.authorization": 42,
        "exception.message": "connect postgresql://admin:pw@db/x failed",
        "process.command_args": ["kedro", "run", "--params", "a=1,db_password=pw"],
        "kedro.dataset.name": "params:model.alpha",
        "kedro.node.rows": 10,
        "raw.password": "kept",
    }
    before = copy.deepcopy(attributes)
    result = scrub_attributes(attributes, exempt={"raw.password"})
    assert attributes == before
    assert result is not attributes
    assert result == {
        "db.password": MASK,
        "api-key": [MASK],
        "kedro.credentials.tuple": (MASK,),
        "http.request.header.authorization": MASK,
        "exception.message": "connect postgresql://*****@db/x failed",
        "process.command_args": ["kedro", "run", "--params", "a=1,db_password=*****"],
        "kedro.dataset.name": "params:model.alpha",
        "kedro.node.rows": 10,
        "raw.password": "kept",
    }
    assert scrub_attributes(None) == {}
    assert scrub_attributes({"msg": "x" * 50}, max_length=10) == {
        "msg": "x" * 10 + "…[clipped 40 chars]"
    }


# --- Properties --------------------------------------------------------------------------------

_b64url = string.ascii_letters + string.digits + "_-"
# How DER private keys begin in base64 (PKCS#8 RSA, PKCS#1 RSA, PKCS#8 EC, Ed25519, SEC1 EC).
_KEY_PREFIXES = [
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "MIIEowIBAAKCAQEA",
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0w",
    "MC4CAQAwBQYDK2VwBCIE",
    "MHcCAQEE",
]
_secrets = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "!@#$%^&*_-", min_size=12, max_size=40),
    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(
        lambda tail: "AKIA" + tail
    ),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=36, max_size=36).map(
        lambda tail: "ghp_" + tail
    ),
    st.tuples(*[st.text(alphabet=_b64url, min_size=10, max_size=40)] * 3).map(
        lambda parts: f"eyJ{parts[0]}.eyJ{parts[1]}.{parts[2]}"
    ),
    st.binary(min_size=20, max_size=20).map(bytes.hex),
    st.binary(min_size=24, max_size=24).map(lambda raw: base64.b64encode(raw).decode()),
    # issue 10: random single-case letters (those the detector judges random: about 99 % of
    # 32-letter ones, see the test above), and bare base64 private-key bodies.
    st.integers(min_value=0, max_value=2**63)
    .map(lambda seed: "".join(random.Random(seed).choices(string.ascii_lowercase, k=32)))  # noqa: S311
    .filter(random_letters),
    st.tuples(st.sampled_from(_KEY_PREFIXES), st.binary(min_size=24, max_size=200)).map(
        lambda parts: parts[0] + base64.b64encode(parts[1]).decode()
    ),
)

_TEMPLATES: list[Callable[[str], str]] = [
    lambda s: f"postgresql://admin:{s}@db.example.com:5432/warehouse",
    lambda s: f"https://deploy:{s}@git.example.com/org/repo.git",
    lambda s: f"connecting as admin with password={s} to the warehouse",
    lambda s: f'loaded config {{"user": "admin", "token": "{s}", "port": 5432}}',
    lambda s: f"REGION: eu-west-1\nAPI_KEY: {s}\nDEBUG: false",
    lambda s: f"Authorization: Bearer {s}",
    lambda s: f"--params a=1,db_password={s}",
    lambda s: f"--params a=1,db_password={s},b=2",
    lambda s: f"connection to postgresql://admin:{s}@db:5432/x failed",
    lambda s: f"-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----",
    lambda s: (
        f"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA{s}AAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----"
    ),
    lambda s: f"settings: {{'secret': '{s}'}}",
    lambda s: f'DB_PASSWORD="{s}" kedro run',
    lambda s: f"/opt/tools/bin/sync --api-key {s} target",
    lambda s: f"user:{s}@127.0.0.1:9/x.csv",  # issue 10: userinfo without a scheme
    lambda s: f"cannot read user:{s}@db.internal:5432/sales, retrying",
    lambda s: f"PASSWORD {s}",  # issue 10: name and value separated by a space
]
# After ``--api-key`` this reads as the next option's name: letter words after one or two dashes.
_OPTION_SHAPED = re.compile(r"--?[A-Za-z]+(?:[-_.][A-Za-z]+)*")


@settings(max_examples=1000, deadline=None)
@given(secret=_secrets, template=st.sampled_from(_TEMPLATES), entropy=st.booleans())
def test_no_secret_survives_any_template(
    secret: str, template: Callable[[str], str], entropy: bool
) -> None:
    text = template(secret)
    assume(secret not in template(MASK))  # the template alone does not spell it
    assume(not (_OPTION_SHAPED.fullmatch(secret) and "--api-key" in text))
    assert secret not in scrub_text(text, entropy=entropy)
    scrubbed = scrub_attributes(
        {
            "exception.message": text,
            "process.command_args": ["kedro", "run", text],
            "kedro.password": secret,
            "db.url": (text, "ok"),
        },
        entropy=entropy,
    )
    strings = [
        v
        for value in scrubbed.values()
        for v in (value if isinstance(value, list | tuple) else [value])
    ]
    assert all(secret not in str(item) for item in strings)


_word = st.from_regex(r"[a-z_]{1,12}", fullmatch=True)
_dotted = st.lists(_word, min_size=1, max_size=5).map(".".join)


@settings(max_examples=500, deadline=None)
@given(
    name=st.one_of(
        _dotted,
        _dotted.map(lambda name: f"params:{name}"),
        st.lists(_word, min_size=1, max_size=6).map("/".join),
        st.tuples(st.lists(_word, min_size=1, max_size=4), _word).map(
            lambda parts: "data/" + "/".join(parts[0]) + f"/{parts[1]}.csv"
        ),
    )
)
def test_kedro_like_identifiers_pass_unchanged(name: str) -> None:
    assert scrub_text(name) == name
    assert scrub_attributes({"kedro.dataset.name": name}) == {"kedro.dataset.name": name}


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), max_length=st.integers(min_value=0, max_value=200))
def test_clipping_is_a_prefix_of_the_scrubbed_text(text: str, max_length: int) -> None:
    # So clipping can only remove characters of already-scrubbed text, never reveal any.
    full = scrub_text(text, max_length=None)
    clipped = scrub_text(text, max_length=max_length)
    if len(full) <= max_length:
        assert clipped == full
    else:
        assert clipped == full[:max_length] + f"…[clipped {len(full) - max_length} chars]"


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_scrubbing_is_idempotent(text: str) -> None:
    once = scrub_text(text, max_length=None)
    assert scrub_text(once, max_length=None) == once


def test_unhashable_nested_values_are_scrubbed_too() -> None:
    scrubbed = scrub_attributes({"x": ({"a": "password=hunter2hunter2"},)})
    assert "hunter2hunter2" not in str(scrubbed)


def test_printed_argument_lists_lose_the_value_after_a_secret_option() -> None:
    message = (
        "Command '['/opt/bin/sync', '--api-key', 'Zx81kQp02Lm', '--region', 'eu']' "
        "returned non-zero exit status 1."
    )
    scrubbed = scrub_text(message)
    assert "Zx81kQp02Lm" not in scrubbed
    assert "'--api-key', '*****'" in scrubbed
    assert "'--region', 'eu'" in scrubbed


# Values as generated secrets come: a digit and a letter, dashes and symbols anywhere, even first.
_option_values = st.text(
    alphabet=string.ascii_letters + string.digits + "!#$%^*_-", min_size=12, max_size=40
).filter(lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s))


@settings(max_examples=500, deadline=None)
@given(
    value=_option_values,
    option=st.sampled_from(["--api-key", "--password", "--db-token", "-secret"]),
    after=st.sampled_from(["target", "-v", "--env local", ""]),
)
def test_a_value_after_a_secret_option_is_masked_even_if_dash_led(
    value: str, option: str, after: str
) -> None:
    line = f"/opt/tools/bin/sync {option} {value} {after}".rstrip()
    assert scrub_text(line) == f"/opt/tools/bin/sync {option} {MASK} {after}".rstrip()
    argv = ["/opt/tools/bin/sync", option, value, *after.split()]
    assert scrub_value(argv) == ["/opt/tools/bin/sync", option, MASK, *after.split()]


@settings(max_examples=300, deadline=None)
@given(
    name=st.from_regex(r"--?[a-z]{1,8}(?:-[a-z]{1,8}){0,2}", fullmatch=True),
    option=st.sampled_from(["--api-key", "--password", "--token"]),
)
def test_an_option_name_after_a_secret_option_stays(name: str, option: str) -> None:
    line = f"sync {option} {name} x"
    assert scrub_text(line, entropy=False) in {line, f"sync {option} {name} {MASK}"}
    assert name in scrub_text(line, entropy=False)
    assert scrub_value(["sync", option, name]) == ["sync", option, name]
