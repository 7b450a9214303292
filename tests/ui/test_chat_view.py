"""How the chat shows stored answers and which message may be edited, in both languages."""

from __future__ import annotations

from ui.chat_view import TYPING, assistant_messages, edited_question, shown_text, stored_history

HISTORY = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
           {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]


def answer(status: str, **extra: str) -> dict[str, str]:
    return {"role": "assistant", "content": "Half an answer", "status": status, **extra}


def test_a_stopped_answer_says_so_in_the_callers_language() -> None:
    assert shown_text(answer("cancelled"), "en") == "Half an answer\n\n*(stopped)*"
    assert shown_text(answer("cancelled"), "ko") == "Half an answer\n\n*(중지됨)*"


def test_a_failed_answer_says_the_engine_failed_in_the_callers_language() -> None:
    assert shown_text(answer("failed"), "en").endswith("⚠️ *(the engine failed here)*")
    assert shown_text(answer("failed"), "ko").endswith("⚠️ *(엔진 오류로 중단됨)*")


def test_a_finished_answer_has_no_note_and_a_stored_note_wins() -> None:
    assert shown_text(answer("completed"), "ko") == "Half an answer"
    assert shown_text(answer("failed", note="cut short"), "en").endswith("⚠️ *(cut short)*")


def test_thinking_is_titled_in_the_callers_language() -> None:
    shown = assistant_messages("Answer", "Hmm", done=False, lang="ko")
    assert shown[0]["metadata"] == {"title": "💭 생각 중", "status": "pending"}
    assert assistant_messages("Answer", "Hmm")[0]["metadata"]["title"] == "💭 Thinking"


def test_any_user_message_may_be_edited_and_is_counted_among_the_users() -> None:
    """The chat's index of an edited message becomes which of the user's messages it is (the
    chat shows an answer's thinking as a message of its own, so the indexes differ)."""
    thinking = [{"role": "user", "content": "a"},
                {"role": "assistant", "content": "hmm", "metadata": {"title": "💭"}},
                {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
    assert [edited_question(HISTORY, i) for i in range(4)] == [0, None, 1, None]
    assert edited_question(thinking, 3) == 1
    assert edited_question([], 0) is None
    assert edited_question(HISTORY, (2,)) is None


def test_an_answer_cut_off_at_the_length_limit_says_so_and_offers_to_continue() -> None:
    """Issue 12: "Cut off at the length limit — Continue", on the answer as soon as it ends."""
    cut = answer("completed", finish_reason="length")
    rows = [{"role": "user", "content": "Tell me a story."}, cut]
    shown = stored_history(rows, "en")
    assert shown[-1]["content"] == "Half an answer\n\n*(cut off at the length limit)*"
    assert shown[-1]["options"] == [{"label": "Continue", "value": "Continue"}]
    korean = stored_history(rows, "ko")[-1]
    assert korean["content"].endswith("*(길이 제한에서 잘림)*")
    assert korean["options"] == [{"label": "계속", "value": "계속해 주세요"}]


def test_only_the_last_answer_offers_to_continue() -> None:
    cut = answer("completed", finish_reason="length")
    rows = [{"role": "user", "content": "a"}, cut, {"role": "user", "content": "b"},
            answer("completed", finish_reason="stop")]
    shown = stored_history(rows, "en")
    assert shown[1]["content"].endswith("*(cut off at the length limit)*")
    assert all("options" not in m for m in shown)
    assert shown[-1]["content"] == "Half an answer"


def test_an_answer_stopped_before_any_text_says_so() -> None:
    shown = stored_history([{"role": "user", "content": "a"},
                            {**answer("cancelled"), "content": ""}], "en")
    assert shown[-1]["content"] == "*(stopped)*"


def test_an_answer_without_its_first_token_is_not_an_empty_bubble() -> None:
    assert assistant_messages("", "", done=False) == [{"role": "assistant", "content": TYPING}]
    assert assistant_messages("", "Hmm", done=False)[-1]["content"] == "Hmm"
    assert assistant_messages("", "", done=True) == [{"role": "assistant", "content": ""}]
