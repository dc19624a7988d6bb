"""The app under React's development build: StrictMode runs every effect twice and any React warning is a console
error, yet switching around and typing into a new chat still creates exactly one session."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import expect

from tests.web.conftest import WebApp
from tests.web.test_conversation import CHAT_URL, assistant_text, composer, sessions_of, switch_around

pytestmark = pytest.mark.browser


async def test_strict_mode_and_rapid_switching_make_one_session_per_bootstrap(strict_web: WebApp) -> None:
    page = await strict_web.open("/")
    await switch_around(page)
    await composer(page).fill("strict mode hello")
    await composer(page).press("Enter")
    await expect(assistant_text(page)).to_have_text("Echo: strict mode hello")
    await expect(page).to_have_url(CHAT_URL)
    assert len(await sessions_of(strict_web)) == 1

    # A tool call and a question render without a React warning, and a reload resumes cleanly.
    question = {"question": "Which one?", "options": ["Left", "Right"]}
    tools = f'[[tool:bash:{{"command": "echo hi"}}]] [[tool:ask_user_question:{json.dumps(question)}]]'
    await composer(page).fill(f"{tools} go")
    await composer(page).press("Enter")
    await expect(page.locator("fieldset.question legend")).to_have_text("Which one?")
    await page.reload()
    await page.locator("fieldset.question").get_by_role("button", name="Right").click()
    await expect(assistant_text(page)).to_contain_text('ok: {"answer": "Right"}')
    assert len(await sessions_of(strict_web)) == 1
