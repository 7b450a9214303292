"""Search, rename, delete, regenerate and edit, over REST with the real engine."""

from __future__ import annotations

from conftest import AppServer
from helpers import (
    content_of,
    eventually,
    http,
    sse_events,
    stored_conversation,
    stream_chat,
    usage_rows,
)


def new_chat(server: AppServer, headers: dict[str, str], text: str) -> int:
    response, _ = stream_chat(server.url, headers, {
        "messages": [{"role": "user", "content": text}], "max_tokens": 16})
    conv_id = int(response.headers["x-conversation-id"])
    stored_conversation(server.url, headers, conv_id, 2)
    return conv_id


def test_search_finds_titles_and_message_text_of_your_own_chats(app_server: AppServer) -> None:
    user, admin = app_server.auth(), app_server.auth("admin", "admin123")
    mine = new_chat(app_server, user, "Tell me about the zebra-striped lighthouse")
    theirs = new_chat(app_server, admin, "Another zebra-striped lighthouse question")

    def found(headers: dict[str, str], q: str) -> list[int]:
        response = http.get(f"{app_server.url}/api/conversations", headers=headers, params={"q": q})
        return [c["id"] for c in response.json()["conversations"]]
    assert found(user, "ZEBRA-striped") == [mine]
    assert found(admin, "zebra-striped") == [theirs]
    assert found(user, "100%_no_such_text") == []


def test_rename_sticks_and_delete_keeps_usage_rows(app_server: AppServer) -> None:
    user = app_server.auth()
    conv_id = new_chat(app_server, user, "Rename me please")
    response = http.patch(f"{app_server.url}/api/conversations/{conv_id}", headers=user,
                          json={"title": "  My   chosen title "})
    assert response.json() == {"id": conv_id, "title": "My chosen title", "title_source": "user"}
    admin = app_server.auth("admin", "admin123")
    assert http.delete(f"{app_server.url}/api/conversations/{conv_id}",
                       headers=admin).status_code == 404, "an admin may not delete others' chats"

    assert http.delete(f"{app_server.url}/api/conversations/{conv_id}",
                       headers=user).status_code == 204
    assert http.get(f"{app_server.url}/api/conversations/{conv_id}",
                    headers=user).status_code == 404
    assert any(r["conv_id"] == conv_id for r in usage_rows(app_server.url, user))


def test_regenerate_replaces_the_last_answer(app_server: AppServer) -> None:
    user = app_server.auth()
    conv_id = new_chat(app_server, user, "Give me a random fruit.")
    before = stored_conversation(app_server.url, user, conv_id, 2)["messages"]
    with http.stream("POST", f"{app_server.url}/api/conversations/{conv_id}/regenerate",
                     headers=user, json={"temperature": 1.2, "max_tokens": 16}, timeout=60) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
    assert "data: [DONE]" in text

    def replaced() -> list[dict[str, object]] | None:
        messages = stored_conversation(app_server.url, user, conv_id, 2)["messages"]
        return messages if messages[1]["id"] != before[1]["id"] else None
    after = eventually(replaced)
    assert len(after) == 2 and after[0] == before[0]
    requests = [r for r in usage_rows(app_server.url, user) if r["conv_id"] == conv_id]
    assert len(requests) >= 2


def test_edit_changes_the_last_question_and_answers_it(app_server: AppServer) -> None:
    user = app_server.auth()
    conv_id = new_chat(app_server, user, "What is 2 + 2?")
    with http.stream("POST", f"{app_server.url}/api/conversations/{conv_id}/edit", headers=user,
                     json={"content": "What is 3 + 3?", "max_tokens": 16}, timeout=60) as r:
        assert r.status_code == 200
        answer = content_of(list(sse_events(r)))
    def answered() -> list[dict[str, object]] | None:
        messages = stored_conversation(app_server.url, user, conv_id, 2)["messages"]
        return messages if messages[1]["content"] == answer else None
    assert [m["content"] for m in eventually(answered)] == ["What is 3 + 3?", answer]


def test_edit_an_earlier_question_replaces_the_turns_after_it(app_server: AppServer) -> None:
    """Issue 12, defect 4: any of the user's messages may be edited; the turns after it go (their
    usage rows stay), and an answer is not a message of the user's to edit."""
    user = app_server.auth()
    conv_id = new_chat(app_server, user, "Name a fruit.")
    stream_chat(app_server.url, user, {"conversation_id": conv_id, "max_tokens": 16,
                                       "messages": [{"role": "user", "content": "Name a tree."}]})
    before = stored_conversation(app_server.url, user, conv_id, 4)["messages"]
    answer = http.post(f"{app_server.url}/api/conversations/{conv_id}/edit", headers=user,
                       json={"content": "x", "message_id": before[1]["id"]})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "nothing_to_resend")
    with http.stream("POST", f"{app_server.url}/api/conversations/{conv_id}/edit", headers=user,
                     json={"content": "Name a vegetable.", "message_id": before[0]["id"],
                           "max_tokens": 16}, timeout=60) as r:
        assert r.status_code == 200
        text = content_of(list(sse_events(r)))

    def answered() -> list[dict[str, object]] | None:
        messages = stored_conversation(app_server.url, user, conv_id, 2)["messages"]
        return messages if len(messages) == 2 and messages[1]["content"] == text else None
    after = eventually(answered)
    assert (after[0]["id"], after[0]["content"]) == (before[0]["id"], "Name a vegetable.")
    requests = [r for r in usage_rows(app_server.url, user) if r["conv_id"] == conv_id]
    assert len(requests) == 3, "the replaced answers' usage rows stay"


def test_resending_needs_a_message_and_your_own_conversation(app_server: AppServer) -> None:
    user, admin = app_server.auth(), app_server.auth("admin", "admin123")
    empty = http.post(f"{app_server.url}/api/conversations", headers=user, json={}).json()["id"]
    response = http.post(f"{app_server.url}/api/conversations/{empty}/regenerate", headers=user,
                         json={})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "nothing_to_resend")
    mine = new_chat(app_server, user, "Hello")
    response = http.post(f"{app_server.url}/api/conversations/{mine}/edit", headers=admin,
                         json={"content": "hijacked"})
    assert response.status_code == 404
    blank = http.post(f"{app_server.url}/api/conversations/{mine}/edit", headers=user,
                      json={"content": "   "})
    assert (blank.status_code, blank.json()["error"]["code"]) == (400, "empty_message")
    assert stored_conversation(app_server.url, user, mine, 2)["messages"][0]["content"] == "Hello"


def test_an_edit_too_long_for_the_context_keeps_the_old_question_and_answer(
    app_server: AppServer,
) -> None:
    user = app_server.auth()
    conv_id = new_chat(app_server, user, "Name a colour.")
    before = stored_conversation(app_server.url, user, conv_id, 2)["messages"]
    response = http.post(f"{app_server.url}/api/conversations/{conv_id}/edit", headers=user,
                         json={"content": "hello there " * 1400}, timeout=60)
    assert (response.status_code, response.json()["error"]["code"]) == (
        400, "context_length_exceeded")
    after = stored_conversation(app_server.url, user, conv_id, 2)["messages"]
    assert [(m["id"], m["content"]) for m in after] == [(m["id"], m["content"]) for m in before]
