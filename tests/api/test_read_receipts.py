"""Read receipts on several chats of one reader: the sidebar's lists keep answering."""

from __future__ import annotations

import httpx

from tests.turns.helpers import new_chat_id, send


async def test_lists_answer_after_reading_two_chats(http: httpx.AsyncClient) -> None:
    chat_ids = [new_chat_id(), new_chat_id()]
    for chat_id in chat_ids:
        response, _ = await send(http, chat_id, "hello")
        assert response.status_code == 200
        assert (await http.post(f"/chats/{chat_id}/read", json={})).status_code == 200
    listed = await http.get("/chats")
    assert listed.status_code == 200, listed.text
    assert [row["unreadCount"] for row in listed.json()["items"]] == [0, 0]
    assert (await http.get(f"/chats/{chat_ids[0]}")).status_code == 200
