"""Config loading: every mistake is reported before any event, naming the file and the spot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from destkit import ConfigError, ConfigErrors, Runtime
from destkit.compiling import compile_config
from destkit.config import interpolate_env, load_config, parse_config

SETTINGS = {"url": "https://hooks.example.com"}


def destination(**fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": "hook", "type": "webhook", "settings": dict(SETTINGS)}
    entry.update(fields)
    return entry


def compile_one(entry: dict[str, Any], environ: dict[str, str] | None = None) -> Any:
    return compile_config(parse_config({"destinations": [entry]}, source="test.yaml"), environ=environ or {})


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (
            destination(type="nope"),
            "destination 'hook' (destinations[0]): no destination 'nope' is installed (installed: adobe-target, "
            "adobe-target-edge, custom-personalization, custom-personalization-with-attributes, hubspot, webhook)",
        ),
        (destination(settings={}), "destination 'hook' (destinations[0]): settings: url: missing"),
        (destination(settings={"url": "ftp://x"}), "settings: url: Value error, must start with http:// or https://"),
        (destination(type="webhok"), "no destination 'webhok' is installed (did you mean 'webhook'?)"),
        (
            destination(subscriptions=[{"name": "s", "action": "shout"}]),
            "subscription 's': destination 'webhook' has no action 'shout' (it has: send, send_batch)",
        ),
        (
            destination(subscriptions=[{"name": "s", "action": "sned"}]),
            "has no action 'sned' (did you mean 'send'?) (it has: send, send_batch)",
        ),
        (
            destination(subscriptions=[{"name": "s", "action": "send", "trigger": 'type = "track" and'}]),
            "subscription 's': trigger: expected a field, found the end of the expression at column 19",
        ),
        (
            destination(subscriptions=[{"name": "s", "action": "send", "mapping": {"data": {"x": {"@iff": 1}}}}]),
            "subscription 's': mapping: /data/x: unknown directive @iff (did you mean '@if'?)",
        ),
        (
            destination(subscriptions=[{"name": "s", "action": "send", "mapping": {"dta": {}}}]),
            "mapping names field(s) dta that action 'send' does not have (did you mean 'data'?) (it has: data, method, path)",
        ),
        (
            destination(subscriptions=[{"name": "s", "action": "send", "batch": {"size": 10}}]),
            "action 'send' cannot batch (it has no perform_batch)",
        ),
        (
            destination(subscriptions=[{"name": "s", "action": "send"}, {"name": "s", "action": "send"}]),
            "subscription names must be unique",
        ),
        (destination(settings={"url": "${MISSING_URL}"}), "settings.url: environment variable MISSING_URL is not set"),
        (
            destination(settings={**SETTINGS, "headrs": {"X-Key": "k"}}),
            "destination 'hook' (destinations[0]): settings: headrs: unknown key (did you mean 'headers'?)",
        ),
        (destination(settings={**SETTINGS, "colour": "red"}), "settings: colour: unknown key (known: headers, url)"),
        (
            destination(type="adobe-target", settings={"client_code": "acme", "bearer_tokn": "t-123456"}),
            "settings: bearer_tokn: unknown key (did you mean 'bearer_token'?)",
        ),
    ],
)
def test_config_mistakes_are_named(entry: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        compile_one(entry)
    assert str(caught.value).startswith("test.yaml: ")
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({}, "destinations: missing"),
        (
            {"destinations": [{"name": "hook", "type": "webhook", "setings": {}}]},
            "destination 'hook' (destinations[0]): setings: unknown key (did you mean 'settings'?)",
        ),
        ({"destinations": [{"type": "webhook"}]}, "destinations[0]: name: missing"),
        ({"destinations": [destination(), destination()]}, "destination names must be unique: hook"),
        (
            {"destinations": [destination(retry={"max_attempts": 0})]},
            "destination 'hook' (destinations[0]): retry.max_attempts: Input should be greater than or equal to 1",
        ),
        ({"destinations": [], "runtime": {"concurrency": "lots"}}, "runtime.concurrency: Input should be a valid integer"),
        ({"destination": []}, "destination: unknown key (did you mean 'destinations'?)"),
        ({"destinations": [], "runtime": {"concurency": 4}}, "runtime.concurency: unknown key (did you mean 'concurrency'?)"),
        ({"destinations": [], "state": {"ledger_day": 4}}, "state.ledger_day: unknown key (did you mean 'ledger_days'?)"),
        ({"destinations": [], "serve": {"write_key": ["k"]}}, "serve.write_key: unknown key (did you mean 'write_keys'?)"),
        (
            {"destinations": [destination(retry={"max_attemps": 2})]},
            "destination 'hook' (destinations[0]): retry.max_attemps: unknown key (did you mean 'max_attempts'?)",
        ),
        (
            {"destinations": [destination(parking={"windw": 60})]},
            "destination 'hook' (destinations[0]): parking.windw: unknown key (did you mean 'window'?)",
        ),
        (
            {"destinations": [destination(subscriptions=[{"name": "s", "action": "send", "tigger": 'type = "track"'}])]},
            "destination 'hook' (destinations[0]), subscription 's': tigger: unknown key (did you mean 'trigger'?)",
        ),
        (
            {"destinations": [destination(subscriptions=[{"name": "s", "action": "send", "batch": {"sise": 5}}])]},
            "subscription 's': batch.sise: unknown key (did you mean 'size'?)",
        ),
        (["not", "a", "mapping"], "a config is a mapping with a 'destinations' list"),
    ],
)
def test_config_shape_mistakes_are_named(data: Any, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="test.yaml")
    assert words in str(caught.value)


def gathered(entries: list[dict[str, Any]]) -> list[str]:
    """Every problem ``destkit validate`` would tell about a config of these destinations."""
    found: list[str] = []
    compile_config(parse_config({"destinations": entries}, source="test.yaml", problems=found), problems=found)
    return found


def test_every_mistake_is_told_the_shape_first_then_each_destination_in_order() -> None:
    problems = gathered(
        [
            destination(name="a", settings={"url": "https://x.example.com", "headrs": {}}, retry={"max_attemps": 1}),
            destination(name="b", type="webhok"),
            destination(
                name="c",
                subscriptions=[
                    {"name": "s1", "action": "sned"},
                    {"name": "s2", "action": "send", "trigger": "type =", "mapping": {"data": {"@iff": 1}}},
                ],
            ),
        ]
    )
    a, b, c = (f"test.yaml: destination '{name}' (destinations[{index}])" for index, name in enumerate("abc"))
    expected = [
        f"{a}: retry.max_attemps: unknown key",
        f"{a}: settings: headrs: unknown key",
        f"{b}: no destination 'webhok' is installed (did you mean 'webhook'?)",
        f"{c}, subscription 's1': destination 'webhook' has no action 'sned' (did you mean 'send'?)",
        f"{c}, subscription 's2': trigger: ",
        f"{c}, subscription 's2': mapping: /data: unknown directive @iff",
    ]
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem


def test_other_commands_stop_with_the_same_text_all_at_once() -> None:
    entries = [destination(settings={"url": "ftp://x", "headrs": {}}, subscriptions=[{"name": "s", "action": "sned"}])]
    with pytest.raises(ConfigErrors) as caught:
        compile_one(entries[0])
    assert list(caught.value.problems) == gathered(entries)
    assert str(caught.value) == "\n".join(gathered(entries))


def test_settings_values_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        compile_one(destination(settings={"url": "https://x", "headers": {"Authorization": 12345678}}))
    assert "12345678" not in str(caught.value)
    assert "headers.Authorization: Input should be a valid string" in str(caught.value)


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("destinations:\n  - name: hook\n    type: [webhook\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:4:1: invalid YAML"):
        load_config(path)


def test_json_syntax_errors_give_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"destinations": [\n  {"name": }\n]}')
    with pytest.raises(ConfigError, match=r"bad\.json:2:12: invalid JSON"):
        load_config(path)


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${HOST}", "example.com"),
        ("https://${HOST}/x", "https://example.com/x"),
        ("${UNSET:-fallback}", "fallback"),
        ("${UNSET:-}", ""),
        ("${EMPTY:-fallback}", "fallback"),  # set but empty gives the default, as in a shell
        ("${EMPTY}", ""),
        ("$${HOST}", "${HOST}"),
        ("no variables", "no variables"),
    ],
)
def test_env_interpolation(text: str, expected: str) -> None:
    assert interpolate_env(text, "where", {"HOST": "example.com", "EMPTY": ""}) == expected


def test_interpolation_reaches_nested_settings_only() -> None:
    entry = destination(
        settings={"url": "${URL}", "headers": {"X-Key": "${KEY}"}},
        subscriptions=[{"name": "s", "action": "send", "mapping": {"path": "${NOT_INTERPOLATED}"}}],
    )
    (sub,) = compile_one(entry, {"URL": "https://a.example.com", "KEY": "k-123456"})
    assert sub.destination.request_defaults.base_url == "https://a.example.com"
    assert sub.destination.request_defaults.headers == {"X-Key": "k-123456"}
    assert sub.mapping_source["path"] == "${NOT_INTERPOLATED}"
    assert sub.destination.secrets == {"k-123456"}


def test_defaults_fill_what_a_subscription_leaves_out() -> None:
    (sub,) = compile_one(destination(subscriptions=[{"name": "s", "action": "send", "mapping": {"path": "/p"}}]))
    assert sub.trigger_source is not None and sub.trigger_source.startswith('type = "identify"')
    assert sub.mapping_source == {"data": {"@path": "$."}, "path": "/p"}


def test_presets_stand_in_for_missing_subscriptions() -> None:
    (sub,) = compile_one(destination())
    assert (sub.name, sub.action.slug) == ("every event", "send")


def test_disabled_destinations_and_subscriptions_are_left_out() -> None:
    subs = [{"name": "on", "action": "send"}, {"name": "off", "action": "send", "enabled": False}]
    assert [s.name for s in compile_one(destination(subscriptions=subs))] == ["on"]
    assert compile_one(destination(enabled=False, type="not-even-installed")) == []


def test_runtime_reads_yaml_files(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "runtime: {concurrency: 3}\ndestinations:\n  - {name: hook, type: webhook, settings: {url: 'https://x.example.com'}}\n"
    )
    runtime = Runtime(path)
    assert runtime.concurrency == 3
    assert [s.name for s in runtime.subscriptions] == ["every event"]


LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{before}'] * 9)}]\n" for before, name in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (LAUGHS + "destinations: []\n", "destkit.yaml:2:8: invalid YAML: aliases (*name) are not allowed in a config"),
        ("base: &base {url: x}\ndestinations: [{<<: *base}]\n", "destkit.yaml:2:21: invalid YAML: aliases (*name)"),
        ("destinations: []\n" + "#" * (1024 * 1024), "destkit.yaml: a config file is at most 1 MB"),
    ],
)
def test_a_config_that_could_expand_or_is_too_large_is_refused_before_any_work(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "destkit.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert words in str(caught.value)


def test_anchors_without_aliases_are_plain_yaml(tmp_path: Path) -> None:
    path = tmp_path / "destkit.yaml"
    path.write_text("destinations: &all []\n")
    assert load_config(path).destinations == []


@pytest.mark.parametrize(
    ("serve", "words"),
    [
        ({"header_timeout": 0}, "serve.header_timeout"),
        ({"body_timeout": -1}, "serve.body_timeout"),
        ({"lookup_max_events": 0}, "serve.lookup_max_events"),
        ({"lookup_max_identities": 0}, "serve.lookup_max_identities"),
        ({"limit_concurrency": 0}, "serve.limit_concurrency"),
        ({"header_timout": 5}, "header_timout"),  # a misspelt limit is refused, not ignored
    ],
)
def test_serve_limits_are_checked_strictly(serve: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_config({"serve": {"write_keys": ["wk-0123"], **serve}, "destinations": [destination()]}, source="test.yaml")


def test_serve_limits_have_defaults() -> None:
    options = parse_config({"serve": {"write_keys": ["wk-0123"]}, "destinations": [destination()]}).serve_options()
    assert (options.header_timeout, options.body_timeout, options.lookup_max_bytes, options.limit_concurrency) == (
        10.0,
        30.0,
        65536,
        1000,
    )
