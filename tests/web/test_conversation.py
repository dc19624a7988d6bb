"""The conversation in a real browser: send and stream, many tools in one turn, stop, reload mid-answer."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import Page, Route, expect

from tests.polling import wait_until
from tests.standin.anthropic_server import StandIn
from tests.turns.helpers import task as task_directive
from tests.turns.helpers import tool
from tests.web.conftest import ARTIFACTS, WebApp, screenshot

pytestmark = pytest.mark.browser
CHAT_URL = re.compile(r"/sessions/[0-9a-f-]{36}/chats/[A-Za-z0-9]{16}$")


def composer(page: Page) -> Any:
    return page.get_by_role("textbox", name="Message")


def assistant_text(page: Page) -> Any:
    return page.locator("li.message.assistant p.text").last


async def sessions_of(web: WebApp) -> list[dict[str, Any]]:
    response = await web.http.get("/sessions", params={"status": "all,archived"})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# Records, in the page's own clock, when Enter was pressed and when the answer's first text appeared.
TIME_FIRST_TEXT = """() => {
  const mark = {};
  const onKey = (e) => { if (e.key === "Enter") mark.sent = performance.now(); };
  document.addEventListener("keydown", onKey, { once: true });
  const count = document.querySelectorAll("li.message.assistant p.text").length;
  const observer = new MutationObserver(() => {
    if (document.querySelectorAll("li.message.assistant p.text").length > count) {
      mark.firstText = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  window.__turnflowTiming = mark;
}"""


async def first_text_ms(page: Page) -> float:
    mark = await page.evaluate("window.__turnflowTiming")
    return round(float(mark["firstText"] - mark["sent"]), 1)


async def test_send_and_stream_at_a_canonical_address(web: WebApp) -> None:
    page = await web.open("/")
    await expect(composer(page)).to_be_editable()
    input_ready_ms = round(float(await page.evaluate("performance.now()")), 1)  # since navigation started
    assert "#token" not in page.url, "the token left the address bar"

    await composer(page).fill("hello from the browser")
    await page.evaluate(TIME_FIRST_TEXT)
    await composer(page).press("Enter")
    await expect(page.locator("li.message.user")).to_have_text(re.compile("hello from the browser"))
    await expect(assistant_text(page)).to_have_text("Echo: hello from the browser")
    first_send_ms = await first_text_ms(page)
    await expect(page).to_have_url(CHAT_URL)
    await composer(page).fill("and once more")
    await page.evaluate(TIME_FIRST_TEXT)
    await composer(page).press("Enter")
    await expect(assistant_text(page)).to_have_text("Echo: and once more")
    next_send_ms = await first_text_ms(page)
    await screenshot(page, "chat")
    chat_id = page.url.rsplit("/", 1)[1]

    async def read_in_full() -> bool:
        return bool((await web.http.get(f"/chats/{chat_id}")).json()["unreadCount"] == 0)

    await wait_until(read_in_full, "the answers the user watched to count as read")

    await page.reload()  # the canonical address survives a reload
    await expect(page.locator("li.message.user")).to_have_count(2)
    await expect(assistant_text(page)).to_have_text("Echo: and once more")
    ARTIFACTS.mkdir(exist_ok=True)
    figures = {"input_ready_ms": input_ready_ms, "first_text_ms": first_send_ms, "next_first_text_ms": next_send_ms}
    (ARTIFACTS / "figures.json").write_text(json.dumps(figures))
    print(f"web app figures: {figures}")


async def switch_around(page: Page) -> None:
    """New chats opened and left untouched, other screens in between; ends on a fresh new chat."""
    await expect(composer(page)).to_be_editable()
    for _ in range(3):
        await page.get_by_role("button", name="New chat", exact=True).click()
        await page.get_by_role("link", name="Dashboard").click()
        await page.get_by_role("link", name="Sessions").click()
    await page.get_by_role("button", name="New chat", exact=True).click()


async def test_typing_before_the_bootstrap_ends_creates_one_session(web: WebApp) -> None:
    page = await web.open("/")
    await switch_around(page)  # switching around without typing bootstraps nothing

    released: list[Route] = []

    async def hold_session_creation(route: Route) -> None:
        if route.request.method == "POST":
            released.append(route)  # answered only after the message is sent
        else:
            await route.continue_()

    await page.route(re.compile(r"/sessions$"), hold_session_creation)
    await composer(page).fill("typed before the bootstrap ended")
    await composer(page).press("Enter")
    await expect(page.locator("li.message.user")).to_have_text(re.compile("typed before the bootstrap ended"))
    assert len(released) == 1, "one bootstrap, started by typing"
    assert await sessions_of(web) == [], "nothing was created before the bootstrap answered"
    await released[0].continue_()
    await expect(assistant_text(page)).to_have_text("Echo: typed before the bootstrap ended")
    await expect(page).to_have_url(CHAT_URL)
    sessions = await sessions_of(web)
    assert len(sessions) == 1, "exactly one session"
    chats = (await web.http.get("/chats")).json()["items"]
    assert [c["sessionId"] for c in chats] == [sessions[0]["id"]]


async def test_a_multi_tool_turn_shows_each_call_in_order_with_live_output(web: WebApp) -> None:
    page = await web.open("/")
    slow = "for i in 1 2 3 4 5 6; do echo tick$i; sleep 0.5; done"
    calls = [("bash", {"command": "echo first"}), ("bash", {"command": slow}), ("bash", {"command": "echo third"})]
    prompt = " ".join(tool(name, **args) for name, args in calls) + " three tools"
    await composer(page).fill(prompt)
    await composer(page).press("Enter")
    tools = page.locator("li.message.assistant .tool-call")
    await expect(tools).to_have_count(3)
    await expect(tools.nth(1).locator(".tool-output")).to_contain_text("tick1")
    assert "tick6" not in await tools.nth(1).inner_text(), "the long command's output showed while it ran"
    await expect(tools.nth(1).locator(".tool-state")).to_have_text("running")
    await expect(tools.nth(1).locator(".tool-output")).to_contain_text("tick6", timeout=15_000)
    for index, expected in enumerate(["echo first", slow, "echo third"]):
        await expect(tools.nth(index).locator(".tool-input")).to_have_text(f"$ {expected}")
        await expect(tools.nth(index).locator(".tool-state")).to_have_text("done")
    await expect(tools.nth(0).locator(".tool-output")).to_have_text("first\n")
    await expect(assistant_text(page)).to_contain_text("Tool results")
    await screenshot(page, "multi-tool-turn")


async def test_sub_agent_progress_shows_in_its_task(web: WebApp) -> None:
    page = await web.open("/")
    await composer(page).fill(f"{task_directive('[[words:200]] [[delay:30]] sub')} delegate")
    await composer(page).press("Enter")
    task = page.locator(".tool-call[data-tool='task']")
    await expect(task.locator(".subagent-progress")).to_contain_text(re.compile(r"Step 1: .*w\d"))
    await expect(task.locator(".tool-state")).to_have_text("done", timeout=20_000)
    await expect(task.locator(".subagent-answer")).to_contain_text("w199")


async def test_stop_mid_answer_keeps_the_partial(web: WebApp, standin: StandIn) -> None:
    page = await web.open("/")
    await composer(page).fill("[[words:400]] [[delay:40]] stop-me")
    await composer(page).press("Enter")
    await expect(assistant_text(page)).to_contain_text("w5 ")
    await page.get_by_role("button", name="Stop").click()
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
    shown = await assistant_text(page).inner_text()
    assert shown.startswith("w0 w1 w2 w3 w4 w5") and "w399" not in shown
    call = standin.calls_with("stop-me")[-1]

    async def model_stopped() -> bool:
        return call.disconnected_at is not None

    await wait_until(model_stopped, "the model's stream to be closed")
    chat_id = page.url.rsplit("/", 1)[1]
    messages = (await web.http.get(f"/chats/{chat_id}/messages")).json()["items"]
    kept = messages[-1]
    assert kept["status"] == "stopped"
    kept_text = "".join(p.get("text", "") for p in kept["parts"] if p["type"] == "text")
    assert kept_text.strip() == shown.strip(), "the browser shows exactly the partial the server kept"
    await page.reload()
    await expect(assistant_text(page)).to_have_text(shown.strip())


async def test_reload_mid_answer_resumes_without_a_repeated_word(web: WebApp) -> None:
    page = await web.open("/")
    await composer(page).fill("[[words:150]] [[delay:30]] reload-me")
    await composer(page).press("Enter")
    await expect(assistant_text(page)).to_contain_text("w20 ")
    await page.reload()
    await expect(page.get_by_role("button", name="Stop")).to_be_visible()  # resumed a running answer
    await expect(assistant_text(page)).to_contain_text("w149", timeout=20_000)
    assert (await assistant_text(page).inner_text()).split() == [f"w{i}" for i in range(150)]
    await expect(page.locator("li.message.assistant")).to_have_count(1)


async def test_a_failed_answer_shows_its_error(web: WebApp) -> None:
    page = await web.open("/")
    await composer(page).fill("[[http:400]] refuse this")
    await composer(page).press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("model answered 400")
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
