"""The agent's question in the browser: answered by a quick-reply button, or from a second tab."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.polling import wait_until
from tests.turns.helpers import ask_question
from tests.web.conftest import WebApp, screenshot
from tests.web.test_conversation import assistant_text, composer

pytestmark = pytest.mark.browser


async def test_question_answered_by_an_option_then_from_a_second_tab(web: WebApp) -> None:
    page = await web.open("/")
    await composer(page).fill(ask_question(question="Which printer?", options=["Front desk", "Back office"]))
    await composer(page).press("Enter")
    card = page.locator("fieldset.question").last
    await expect(card.locator("legend")).to_have_text("Which printer?")
    await screenshot(page, "question")
    await card.get_by_role("button", name="Back office").click()  # addToolOutput, then the re-post
    await expect(card.locator(".answer")).to_have_text("Answered: Back office")
    await expect(assistant_text(page)).to_contain_text('ok: {"answer": "Back office"}')
    await expect(page.get_by_role("button", name="Send")).to_be_visible()

    await composer(page).fill(ask_question(question="Which floor?", options=["First", "Second"]))
    await composer(page).press("Enter")
    first_tab_card = page.locator("fieldset.question").last
    await expect(first_tab_card.locator("legend")).to_have_text("Which floor?")
    path = page.url.removeprefix(web.base_url)
    second = await web.open(path)  # another tab (or device) on the same chat resumes the waiting turn
    second_card = second.locator("fieldset.question").last
    await expect(second_card.locator("legend")).to_have_text("Which floor?")
    await second_card.get_by_role("button", name="Second").click()
    for tab in (page, second):
        await expect(tab.locator("fieldset.question").last.locator(".answer")).to_have_text("Answered: Second")
        await expect(assistant_text(tab)).to_contain_text('ok: {"answer": "Second"}')
    chat_id = path.rsplit("/", 1)[1]
    messages: list[dict[str, Any]] = []

    async def both_answers_saved() -> bool:
        nonlocal messages
        messages = (await web.http.get(f"/chats/{chat_id}/messages")).json()["items"]
        return len(messages) == 4

    await wait_until(both_answers_saved, "the second answer to be saved")
    answers = [p["output"] for m in messages for p in m["parts"] if p["type"] == "tool-ask_user_question"]
    assert answers == [{"answer": "Back office"}, {"answer": "Second"}]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"], "answers continued the turn"
