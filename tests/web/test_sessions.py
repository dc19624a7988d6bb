"""Sessions in the browser: the history of both types, the triage header (live and edited), the lifecycle actions
and the conclude modal filled from the streamed handoff draft, the dashboard."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from playwright.async_api import expect

from tests.turns.helpers import send
from tests.web.conftest import WebApp, screenshot
from tests.web.test_conversation import assistant_text, composer

pytestmark = pytest.mark.browser


async def _session(web: WebApp, **fields: Any) -> dict[str, Any]:
    response = await web.http.post("/sessions", json=fields)
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


async def test_history_filters_and_the_triage_header(web: WebApp) -> None:
    guided = await _session(web, sessionType="guided", title="Printer offline", clientName="Acme Dental")
    chat = await _session(web, sessionType="chat", title="Trip to Lisbon")
    page = await web.open("/history")
    rows = page.get_by_role("list", name="Sessions").get_by_role("listitem")
    await expect(rows).to_have_count(2)
    guided_row = page.locator(f"li[data-session-id='{guided['id']}']")
    await expect(guided_row.locator(".type-badge")).to_have_text("Guided")
    await expect(page.locator(f"li[data-session-id='{chat['id']}'] .type-badge")).to_have_text("Chat")
    await screenshot(page, "sessions")
    await page.get_by_label("Type").select_option("guided")
    await expect(rows).to_have_count(1)
    await page.get_by_label("Status").select_option("resolved")
    await expect(rows).to_have_count(0)
    await page.get_by_label("Status").select_option("all")

    await guided_row.get_by_role("button").click()  # opens the session in a chat of its own
    header = page.get_by_role("region", name="Session", exact=True)
    await expect(header.get_by_role("heading")).to_have_text("Printer offline")
    triage = header.get_by_role("region", name="Triage")
    await expect(triage.locator("[data-field='client']")).to_have_text("Acme Dental")

    update = {
        "asset_name": "front-desk printer",
        "hypothesis": "DHCP lease lost",
        "evidence_items": [{"text": "Config page shows 169.254.x.x", "status": "confirmed"}],
    }
    await composer(page).fill(f"[[tool:update_triage:{json.dumps(update)}]] triage it")
    await composer(page).press("Enter")
    await expect(triage.locator("[data-field='asset']")).to_have_text("front-desk printer")
    await expect(triage.locator("[data-field='hypothesis']")).to_have_text("DHCP lease lost")
    await expect(triage.locator("li[data-status='confirmed']")).to_contain_text("169.254.x.x")
    await expect(assistant_text(page)).to_contain_text("Tool results")
    await screenshot(page, "triage-header")

    await triage.get_by_role("button", name="Edit triage").click()
    editor = page.get_by_role("dialog", name="Edit triage")
    await editor.get_by_label("Category").fill("printing")
    await editor.get_by_label("Evidence 1 status").select_option("ruled_out")
    await editor.get_by_role("button", name="Save triage").click()
    await expect(editor).to_have_count(0)
    await expect(triage.locator("[data-field='category']")).to_have_text("printing")
    await expect(triage.locator("li[data-status='ruled_out']")).to_contain_text("169.254.x.x")
    saved = (await web.http.get(f"/sessions/{guided['id']}")).json()
    assert saved["issueCategory"] == "printing" and saved["assetName"] == "front-desk printer"
    assert saved["evidenceItems"] == [{"text": "Config page shows 169.254.x.x", "status": "ruled_out"}]

    await header.get_by_role("button", name="Pause").click()
    await page.get_by_role("dialog", name="Pause this session?").get_by_role("button", name="Pause").click()
    await expect(header.locator(".status")).to_have_text("paused")
    await header.get_by_role("button", name="Share update").click()
    share = page.get_by_role("dialog", name="Share an update")
    await share.get_by_label("Update").fill("Printer back; watching it today")
    await share.get_by_role("button", name="Share").click()
    await expect(share.get_by_role("status")).to_have_text("Update shared.")
    await share.get_by_role("button", name="Close").click()
    updates = (await web.http.get(f"/sessions/{guided['id']}/status-updates")).json()["items"]
    assert [u["text"] for u in updates] == ["Printer back; watching it today"]


async def test_conclude_modal_fills_from_the_streamed_draft(web: WebApp) -> None:
    session = await _session(web, sessionType="chat")
    chat_id = f"draft{uuid.uuid4().hex[:12]}"
    created = await web.http.post(f"/sessions/{session['id']}/chats", json={"id": chat_id, "modelId": "scripted"})
    assert created.status_code == 201, created.text
    response, _ = await send(web.http, chat_id, "The printer shows offline", sessionId=session["id"])
    assert response.status_code == 200
    page = await web.open(f"/sessions/{session['id']}/chats/{chat_id}")
    header = page.get_by_role("region", name="Session", exact=True)
    await expect(header.locator(".type-badge")).to_have_text("Chat")
    await header.get_by_role("button", name="Resolve").click()
    modal = page.get_by_role("dialog", name="Resolve session")
    await expect(modal.get_by_role("status")).to_have_text(re.compile("^Drafted from the conversation"))
    await expect(modal.get_by_label("Resolution summary")).to_have_value("The printer shows offline")
    await expect(modal.get_by_label("Root cause")).to_have_value("unknown (drafted offline by the scripted model)")
    await expect(modal.get_by_label("Steps taken")).to_have_value(re.compile(r"bash"))
    await expect(modal.get_by_label("Recommendations")).to_have_value("Confirm with the user that the problem is gone.")
    await screenshot(page, "conclude-modal")
    await modal.get_by_label("Root cause").fill("A loose network cable")
    await modal.get_by_role("button", name="Resolve").click()
    await expect(modal).to_have_count(0)
    await expect(header.locator(".status")).to_have_text("resolved")
    resolved = (await web.http.get(f"/sessions/{session['id']}")).json()
    assert resolved["status"] == "resolved"
    assert resolved["resolutionSummary"] == "The printer shows offline"
    assert resolved["rootCause"] == "A loose network cable", "what the user typed wins over the draft"
    assert resolved["recommendations"] == ["Confirm with the user that the problem is gone."]

    await header.get_by_role("button", name="Resume").click()
    await page.get_by_role("dialog", name="Resume this session?").get_by_role("button", name="Resume").click()
    await expect(header.locator(".status")).to_have_text("active")
    await header.get_by_role("button", name="Escalate").click()
    escalate = page.get_by_role("dialog", name="Escalate session")
    await expect(escalate.get_by_role("status")).to_have_text(re.compile("^Drafted from the conversation"))
    await expect(escalate.get_by_label("Summary")).to_have_value("The printer shows offline")
    await escalate.get_by_label("Escalate to").fill("network-team")
    await escalate.get_by_role("button", name="Escalate").click()
    await expect(header.locator(".status")).to_have_text("escalated")
    escalated = (await web.http.get(f"/sessions/{session['id']}")).json()
    assert escalated["escalatedTo"] == "network-team"


async def test_dashboard_shows_active_and_recently_resolved_sessions(web: WebApp) -> None:
    guided = await _session(web, sessionType="guided", title="Router flapping")
    chat = await _session(web, sessionType="chat", title="Weekend plans")
    done = await _session(web, sessionType="guided", title="Printer fixed")
    resolved = await web.http.post(f"/sessions/{done['id']}/resolve", json={"resolutionSummary": "Cable replugged"})
    assert resolved.status_code == 200
    page = await web.open("/dashboard")
    active = page.get_by_role("list", name="Active sessions")
    await expect(active.locator(f"li[data-session-id='{guided['id']}'] .type-badge")).to_have_text("Guided")
    await expect(active.locator(f"li[data-session-id='{chat['id']}'] .type-badge")).to_have_text("Chat")
    await expect(active.get_by_role("listitem")).to_have_count(2)
    recent = page.get_by_role("list", name="Recently resolved")
    await expect(recent.locator(f"li[data-session-id='{done['id']}']")).to_contain_text("Printer fixed")
    await expect(recent.locator("svg")).to_have_count(1)
    await screenshot(page, "dashboard")
