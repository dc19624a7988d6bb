"""The sidebar: unread badges and read receipts, rename in place, delete (archive), relative times on a clock."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import expect

from tests.polling import wait_until
from tests.turns.helpers import send
from tests.web.conftest import PHONE, WebApp, screenshot

pytestmark = pytest.mark.browser


async def _chat_from_another_device(http: httpx.AsyncClient, text: str) -> str:
    """A chat the user has not looked at in the browser: its answer is unread."""
    chat_id = f"side{uuid.uuid4().hex[:12]}"
    response, _ = await send(http, chat_id, text)
    assert response.status_code == 200
    return chat_id


async def test_unread_rename_and_delete(web: WebApp) -> None:
    chat_id = await _chat_from_another_device(web.http, "sidebar chat")
    page = await web.open("/")
    row = page.locator(f"li.chat-row[data-chat-id='{chat_id}']")
    await expect(row.get_by_label("1 unread")).to_be_visible()
    await screenshot(page, "sidebar")

    await row.get_by_role("link").click()  # viewing the chat reads it
    await expect(page.locator("li.message.assistant")).to_have_count(1)

    async def unread() -> int:
        count: int = (await web.http.get(f"/chats/{chat_id}")).json()["unreadCount"]
        return count

    await expect(row.get_by_label("1 unread")).to_have_count(0)
    await page.get_by_role("link", name="Sessions").click()
    await expect(row.get_by_label("1 unread")).to_have_count(0)
    assert await unread() == 0, "the read receipt reached the server"

    await row.get_by_role("button", name=re.compile("^Rename")).click()
    title = page.get_by_role("textbox", name="Chat title")
    await title.fill("Printer at the front desk")
    await title.press("Enter")
    await expect(row.locator(".chat-title")).to_have_text("Printer at the front desk")

    async def renamed() -> bool:
        return bool((await web.http.get(f"/chats/{chat_id}")).json()["title"] == "Printer at the front desk")

    await wait_until(renamed, "the new title to be saved")  # the row shows it before the server answers
    await page.reload()
    await expect(row.locator(".chat-title")).to_have_text("Printer at the front desk")

    await row.get_by_role("button", name=re.compile("^Delete")).click()
    dialog = page.get_by_role("dialog", name="Delete this chat?")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Delete").click()
    await expect(row).to_have_count(0)
    session_id = (await web.http.get(f"/chats/{chat_id}")).json()["sessionId"]
    assert (await web.http.get(f"/sessions/{session_id}")).json()["status"] == "archived"
    await page.reload()
    await expect(page.locator("li.chat-row")).to_have_count(0)


async def test_relative_times_follow_the_clock_tick(web: WebApp) -> None:
    chat_id = await _chat_from_another_device(web.http, "clock chat")
    page = await web.context.new_page()
    web.watch(page)
    await page.clock.install()
    await page.goto(f"{web.base_url}/#token={web.tenant.key}")
    when = page.locator(f"li.chat-row[data-chat-id='{chat_id}'] time")
    await expect(when).to_have_text("just now")
    await page.clock.run_for(45_000)  # a minute has not passed: the 30 s tick still reads "just now"
    await expect(when).to_have_text("just now")
    await page.clock.run_for(20_000)  # the tick after a minute
    await expect(when).to_have_text("1 min ago")
    await page.clock.run_for(120_000)
    await expect(when).to_have_text("3 min ago")


async def test_phone_width_has_the_chats_behind_a_button(web: WebApp) -> None:
    await _chat_from_another_device(web.http, "phone chat")
    page = await web.context.new_page()
    web.watch(page)
    await page.set_viewport_size(PHONE)
    await page.goto(f"{web.base_url}/#token={web.tenant.key}")
    await expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Chats")).to_be_hidden()
    await page.get_by_role("button", name="Chats").click()
    await expect(page.locator("li.chat-row")).to_have_count(1)
    await screenshot(page, "phone-sidebar")
    await page.locator("li.chat-row a").click()
    await expect(page.locator("li.message.assistant")).to_contain_text("Echo: phone chat")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "nothing overflows sideways"
    await screenshot(page, "phone-chat")


async def test_subject_filter_lists_and_starts_chats_of_one_subject(web: WebApp) -> None:
    chats = {}
    for subject in ("artist-17", "artist-42"):
        chats[subject] = f"subj{uuid.uuid4().hex[:12]}"
        response, _ = await send(web.http, chats[subject], f"about {subject}", subjectId=subject)
        assert response.status_code == 200
    page = await web.open("/")
    rows = page.get_by_role("list", name="Your chats").get_by_role("listitem")
    await expect(rows).to_have_count(2)
    await page.get_by_label("Subject").select_option("artist-42")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-chat-id", chats["artist-42"])

    await page.get_by_role("textbox", name="Message").fill("a new chat for this subject")
    await page.get_by_role("textbox", name="Message").press("Enter")
    await expect(rows).to_have_count(2)
    subjects = [s["subjectId"] for s in (await web.http.get("/sessions")).json()["items"]]
    assert sorted(subjects) == ["artist-17", "artist-42", "artist-42"]
