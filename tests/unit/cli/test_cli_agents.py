"""`feedbackctl agents list | show | create`, over real HTTP to the real run function (fake_api.py)."""

from __future__ import annotations

import json
import re

import pytest

from tests.unit.cli.fake_api import run_cli

INPUT = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OUTPUT = {
    "type": "object",
    "properties": {"country": {"type": "string"}, "population": {"type": ["integer", "null"]}},
    "required": ["country"],
}


@pytest.fixture
def schema_files(tmp_path):
    input_file, output_file = tmp_path / "input.json", tmp_path / "output.json"
    input_file.write_text(json.dumps(INPUT))
    output_file.write_text(json.dumps(OUTPUT))
    return str(input_file), str(output_file)


def create(capsys, agent_id, files, *extra):
    return run_cli(
        capsys, "agents", "create", agent_id, "--input-schema", files[0], "--output-schema", files[1], *extra
    )


def test_create_registers_the_schemas_and_tells_the_schema_id(gateway, capsys, schema_files):
    status, out, err = create(capsys, "city-facts", schema_files)
    assert status == 0, err
    assert (
        out
        == "Registered agent city-facts with schema 1: run it with POST /v1/{tenant}/agents/city-facts/schemas/1/run.\n"
    )
    method, url_path, _ = gateway.requests[-1]
    assert (method, url_path) == ("POST", "/v1/_/agents")
    assert gateway.bodies[-1] == {"id": "city-facts", "input_schema": INPUT, "output_schema": OUTPUT}
    # The same schemas: the same id; --json gives the API's answer.
    status, out, _ = create(capsys, "city-facts", schema_files, "--json")
    assert status == 0 and json.loads(out)["schema_id"] == 1 and json.loads(out)["id"] == "city-facts"


def test_list_shows_registered_agents_and_pages_with_a_cursor(gateway, capsys, schema_files):
    for agent_id in ("zeta", "alpha", "mid-bot"):
        assert create(capsys, agent_id, schema_files)[0] == 0
    status, out, err = run_cli(capsys, "agents", "list")
    assert status == 0 and err == ""
    header, rule, *rows = out.splitlines()
    assert header.split() == ["AGENT", "REGISTERED", "(UTC)"] and set(rule) <= {"-", " "}
    assert [row.split()[0] for row in rows] == ["alpha", "mid-bot", "zeta"]

    status, out, err = run_cli(capsys, "agents", "list", "--limit", "2")
    assert [row.split()[0] for row in out.splitlines()[2:]] == ["alpha", "mid-bot"]
    cursor = re.search(r"--cursor (\S+)", err).group(1)
    assert err == f"\nMore agents: add --cursor {cursor}\n"
    status, out, err = run_cli(capsys, "agents", "list", "--cursor", cursor, "--json")
    assert status == 0 and [agent["id"] for agent in json.loads(out)["items"]] == ["zeta"]
    assert json.loads(out)["next_cursor"] is None


def test_list_without_agents_says_how_to_register_one(gateway, capsys):
    status, out, _ = run_cli(capsys, "agents", "list")
    assert status == 0 and out == "No agents yet: register one with `feedbackctl agents create --help`\n"


def test_show_tells_the_schemas_fields_versions_and_deployments(gateway, capsys, schema_files):
    create(capsys, "city-facts", schema_files)
    assert run_cli(capsys, "versions", "save", "--agent", "city-facts", "--model", "offline")[0] == 0
    assert run_cli(capsys, "deploy", "--agent", "city-facts", "production", "1")[0] == 0
    status, out, err = run_cli(capsys, "agents", "show", "city-facts")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Agent city-facts, registered 20") and lines[0].endswith(" UTC")
    assert lines[1] == "Saved versions: 1; deployed: production → 1"
    [row] = lines[5:]
    assert re.split(r"\s{2,}", row.strip()) == ["1", "city*: string", "country*: string, population: integer|null"]
    status, out, _ = run_cli(capsys, "agents", "show", "city-facts", "--json")
    shown = json.loads(out)
    assert shown["schemas"] == [{"schema_id": 1, "input_schema": INPUT, "output_schema": OUTPUT}]
    assert shown["version_count"] == 1 and shown["environments"] == {"production": 1}


def test_show_an_unknown_agent_repeats_the_server(gateway, capsys):
    status, _, err = run_cli(capsys, "agents", "show", "ghost")
    assert status == 1
    assert err.startswith("error: 404 not_found: No agent 'ghost' in this tenant") and err.count("\n") == 1


def test_schema_text_is_shown_escaped_and_never_as_markup(gateway, capsys, tmp_path, schema_files):
    hostile = tmp_path / "hostile.json"
    hostile.write_text(
        json.dumps({"type": "object", "properties": {"[bold]x[/bold]\x1b[2J\u202e": {"type": "string"}}})
    )
    assert create(capsys, "odd", (str(hostile), schema_files[1]))[0] == 0
    status, out, _ = run_cli(capsys, "agents", "show", "odd")
    assert status == 0
    assert "[bold]x[/bold]\\x1b[2J\\u202e: string" in out and "\x1b" not in out and "\u202e" not in out


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        ("{not json", "not JSON (line 1, column 2: Expecting property name enclosed in double quotes)"),
        ("[1, 2]", 'a JSON Schema is a JSON object, e.g. {"type": "object"}'),
    ],
)
def test_a_bad_schema_file_is_one_line_before_any_request(gateway, capsys, tmp_path, schema_files, content, says):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    status, out, err = create(capsys, "city-facts", (str(bad), schema_files[1]))
    assert status == 2 and out == ""
    assert err == f"error: --input-schema {bad}: {says}\n"
    assert gateway.requests == []


def test_a_schema_the_server_refuses_is_its_message(gateway, capsys, tmp_path, schema_files):
    unsafe = tmp_path / "unsafe.json"
    unsafe.write_text(json.dumps({"$ref": "file:///etc/hostname"}))
    status, _, err = create(capsys, "city-facts", (schema_files[0], str(unsafe)))
    assert status == 1 and err.startswith("error: 422 validation_error:") and "$ref" in err
