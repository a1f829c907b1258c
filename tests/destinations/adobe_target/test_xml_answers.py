"""Target's XML answers: ids with XML's special characters read back, hostile XML refused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from destkit import Runtime, Status
from destkit.destinations.adobe_target.sandbox import AdobeTargetSandbox
from destkit.testing import make_event
from tests.processes import DESTKIT

XML_IDS = ["tom&jerry", "<b>bold</b>", 'say "hi"', "o'neil", "a>b&amp;c"]


def _write_config(folder: Path, base_url: str) -> Path:
    subscription = {
        "name": "batch",
        "action": "update_profiles_batch",
        "mapping": {"traits": {"@path": "$.traits"}},
        "batch": {"size": 50, "max_wait": 0.05},
    }
    settings = {"client_code": "acme", "base_url": base_url, "batch_poll_interval": 0.05}
    config = {"destinations": [{"name": "target", "type": "adobe-target", "settings": settings, "subscriptions": [subscription]}]}
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    return path


def test_ids_with_xml_characters_are_delivered_by_the_bulk_api(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(make_event("identify", userId=i, traits={"plan": "pro"})) + "\n" for i in XML_IDS))
    report = tmp_path / "report.json"
    with AdobeTargetSandbox() as sandbox:
        config = _write_config(tmp_path, sandbox.url)
        done = subprocess.run(
            [DESTKIT, "replay", str(events), "--config", str(config), "--report", str(report), "-q"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        stored = {i: httpx.get(f"{sandbox.url}/_sandbox/profiles/{quote(i, safe='')}").json() for i in XML_IDS}
    assert done.returncode == 0, done.stderr
    assert json.loads(report.read_text())["summary"]["outcomes"] == {"delivered": len(XML_IDS)}
    assert {i: profile["attributes"] for i, profile in stored.items()} == {i: {"plan": "pro"} for i in XML_IDS}


_UPLOADED = (
    b"<response><success>true</success><batchStatus>http://t/m2/acme/profile/batchStatus?batchId=b</batchStatus></response>"
)
_HOSTILE = {
    "entity expansion": (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><response><status>complete</status><row><thirdPartyId>&c;'
        b"</thirdPartyId><status>updated</status></row></response>"
    ),
    "external entity": (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b"<response><status>complete</status><failedUpdates>&x;</failedUpdates></response>"
    ),
    "not XML": b"<response><status>complete</status>",
    "a count that is not one": "<response><status>complete</status><failedUpdates>²</failedUpdates></response>".encode(),
}


@pytest.mark.parametrize("answer", list(_HOSTILE.values()), ids=list(_HOSTILE))
async def test_a_hostile_status_answer_is_refused_not_expanded(answer: bytes) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_UPLOADED if request.url.path.endswith("/batchUpdate") else answer)

    subscription = {"name": "b", "action": "update_profiles_batch", "mapping": {"traits": {"@path": "$.traits"}}}
    entry = {
        "name": "t",
        "type": "adobe-target",
        "settings": {"client_code": "acme", "batch_poll_interval": 0.01},
        "subscriptions": [subscription],
        "retry": {"max_attempts": 1},
    }
    async with Runtime({"destinations": [entry]}, transport=httpx.MockTransport(respond)) as runtime:
        [[outcome]] = await runtime.deliver_many([make_event("identify", userId="u1", traits={"a": "1"})])
    assert outcome.status == Status.FAILED and outcome.error is not None
    assert outcome.error.code == "INVALID_ANSWER"
    assert "aaaaaaaaaa" not in outcome.error.message
