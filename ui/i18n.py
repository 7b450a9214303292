"""Korean and English. Labels are translated in the browser by Gradio's i18n, from the browser's
language (the footer's Settings has a switch); text the server writes uses Accept-Language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import gradio as gr
from fastapi import Request
from gradio.i18n import I18nData

from engine.fit_text import FIT_EN
from languages import language

EN: dict[str, str] = {
    "chat": "Chat", "models": "Models", "usage": "Usage", "keys": "API keys",
    "gpu": "GPU & engine", "range": "Range",
    "new_chat": "New chat", "search": "Search conversations",
    "recent": "Recent conversations", "rename_or_delete": "Rename or delete",
    "search_found": "{n} found", "search_none": "No conversation matches “{query}”",
    "group_today": "Today", "group_yesterday": "Yesterday",
    "group_previous_7_days": "Previous 7 days", "group_older": "Older",
    "new_title": "New title", "rename": "Rename", "delete": "Delete",
    "confirm_delete": "Yes, delete this conversation for good",
    "message_placeholder": "Type a message and press Enter", "send": "Send", "stop": "Stop",
    "welcome_title": "What can I help with?",
    "suggest_explain": "Explain how a transformer language model works, in simple words.",
    "suggest_email": "Write a short, friendly email asking to move a meeting to next week.",
    "suggest_ideas": "Give me three ideas for a weekend project in Python.",
    "settings_toggle": "⚙ Settings", "model": "Model", "system_prompt": "System prompt",
    "temperature": "Temperature", "max_tokens": "Max tokens", "preset": "Preset",
    "preset_name": "Name for a new preset", "save_preset": "Save as preset",
    "make_default": "Use as my default prompt",
    "signed_in_as": "Signed in as", "sign_out": "Sign out", "thinking": "💭 Thinking",
    "stopped": "stopped", "failed_here": "the engine failed here",
    "cut_off": "cut off at the length limit", "continue": "Continue", "continue_prompt": "Continue",
    "waiting_switch": "⏳ The model is being switched; this answer starts when it is ready.",
    "trimmed": "{n} earlier messages were left out to fit the model's context.",
    "users": "Users", "username": "Username", "password": "Password", "role": "Role",
    "add_user": "Add user", "choose_user": "User", "make_admin": "Make admin",
    "make_user": "Make user", "disable": "Disable", "enable": "Enable",
    "new_password": "New password", "reset_password": "Reset password",
    "delete_user": "Delete user", "confirm_delete_user": "Yes, delete this user and their chats",
    "change_password": "Change my password", "current_password": "Current password",
    "state_active": "active", "state_disabled": "disabled", "user_added": "Added **{name}** ({role}).",
    "user_changed": "**{name}**: {role}, {state}.", "user_deleted": "Deleted **{name}**.",
    "choose_user_first": "Choose a user first.", "refused_title": "Not done",
    # Role words (the roles themselves stay identifiers): English shows the role as it is.
    "role_user": "user", "role_admin": "admin",
    "edit_replaces_later": ("Send this edit? The messages after it are replaced by the new"
                            " answer."),
    "nothing_to_regenerate": "There is no answer to write again yet.",
    "open_conversation_first": "Open a conversation first.",
    "preset_gone": "That preset no longer exists.", "preset_saved": "Saved preset “{name}”.",
    "delete_preset": "Delete preset", "preset_deleted": "Preset deleted.",
    "choose_preset": "Choose a preset first.",
    "default_saved": "This system prompt now starts every new chat.",
    "keys_intro": ("Keys let programs use `/v1` (the OpenAI API) and the REST API as you. "
                   "A new key is shown **once**: copy it now."),
    "key_name": "Name", "key_name_placeholder": "e.g. laptop script", "create_key": "Create key",
    "new_key": "Your new key", "revoke_choice": "Revoke a key", "revoke": "Revoke",
    "choose_key": "Choose a key to revoke", "confirm_revoke": "Yes, revoke this key",
    "keys_usage_title": "How to use a key",
    "keys_usage_intro": ("Base URL {base_url} (OpenAI-compatible) · model {model}. Send the key "
                         "in the `Authorization: Bearer` header. With curl:"),
    "keys_usage_sdk": "With the openai Python SDK (`pip install openai`):",
    "keys_usage_paste": "paste your key here",
    "switch_to": "Switch to profile", "override_fit": "Switch even if the fit check says it does not fit",
    "switch": "Switch", "restart_engine": "Restart engine", "switch_progress": "Switch progress",
    "engine_log": "Engine log (last lines)",
    "time_range": "Time range", "user_filter": "User", "refresh": "Refresh",
    "download_csv": "Download CSV", "requests": "Requests", "tokens_over_time": "Tokens over time",
    "latency": "Latency", "outcomes": "Outcomes", "tokens_by_model": "Tokens by model",
    "tokens_by_user": "Tokens by user", "heaviest_users": "Heaviest users",
    "slowest_requests": "Slowest requests",
    # The Usage tab. Its range Radio shows range_*; its values ("24h", ...) are not keys.
    "range_24h": "Last 24 hours", "range_7d": "Last 7 days", "range_30d": "Last 30 days",
    "usage_all_models": "All models", "usage_all_users": "All users", "usage_user_n": "user {id}",
    "usage_no_requests": "No requests in this range",
    "usage_no_completed": "No completed requests in this range",
    "usage_requests_per_minute": "Requests per minute", "usage_requests_per_hour": "Requests per hour",
    "usage_requests_per_day": "Requests per day", "usage_tokens_per_minute": "Tokens per minute",
    "usage_tokens_per_hour": "Tokens per hour", "usage_tokens_per_day": "Tokens per day",
    "usage_latency_title": "Latency, {n} completed requests",
    "usage_latency_title_one": "Latency, 1 completed request",
    "usage_outcomes_title": "Outcomes of {n} requests",
    "usage_outcomes_title_one": "Outcomes of 1 request",
    "usage_scope_self": "your requests", "usage_scope_one": "one user",
    "usage_scope_all": "all users", "usage_model_one": "model `{model}`",
    "usage_model_all": "all models",
    "usage_summary": ("**{requests}** requests · **{tokens}** tokens · error rate **{error}** · "
                      "cancel rate **{cancel}** · TTFT p50 **{ttft}** · latency p95 **{latency}**"),
    "usage_summary_one": ("**1** request · **{tokens}** tokens · error rate **{error}** · "
                          "cancel rate **{cancel}** · TTFT p50 **{ttft}** · latency p95 **{latency}**"),
    "usage_col_user": "User", "usage_col_requests": "Requests", "usage_col_tokens": "Tokens",
    "usage_col_input": "Input tokens", "usage_col_output": "Output tokens",
    "usage_col_failed": "Failed", "usage_col_cancelled": "Cancelled",
    "usage_col_request": "Request", "usage_col_model": "Model", "usage_col_status": "Status",
    "usage_col_latency": "Latency (ms)", "usage_col_ttft": "TTFT (ms)",
    "usage_col_time": "Time (UTC)",
    "usage_trace_completed": "completed", "usage_trace_cancelled": "cancelled",
    "usage_trace_failed": "failed", "usage_trace_input": "input", "usage_trace_output": "output",
    "usage_trace_latency": "latency", "usage_trace_ttft": "time to first token",
    "usage_axis_time": "UTC", "usage_axis_requests": "requests", "usage_axis_tokens": "tokens",
    "usage_axis_share": "% of requests", "usage_rate_error": "error rate",
    "usage_rate_cancel": "cancel rate", "usage_rate_5xx": "5xx rate", "usage_others": "others ({n})",
    # The engine's state words (EngineState values); the values themselves stay identifiers.
    "state_stopped": "stopped", "state_starting": "starting", "state_waiting": "waiting",
    "state_ready": "ready", "state_draining": "draining", "state_switching": "switching",
    "state_failed": "failed",
    # The GPU tab, written by the server.
    "gpu_chart_utilization": "GPU utilization", "gpu_chart_memory": "GPU memory used",
    "gpu_chart_temperature": "GPU temperature", "gpu_chart_power": "GPU power",
    "gpu_trace_total": "{name} total",
    "gpu_chart_engine_requests": "Engine requests", "gpu_unit_requests": "requests",
    "gpu_trace_running": "running", "gpu_trace_waiting": "waiting",
    "gpu_chart_kv_cache": "KV cache usage", "gpu_trace_kv_cache": "KV cache",
    "gpu_chart_streams": "Answers streaming now", "gpu_unit_answers": "answers",
    "gpu_trace_streams": "active streams",
    "gpu_chart_rate": "Requests per minute", "gpu_unit_rate": "requests/min",
    "gpu_no_gpu": "**No GPU**: {reason}. App-side charts below. Engine: {state}.",
    "gpu_no_reading": "no reading yet", "gpu_status": "**{gpus}** · engine: {state}",
    # Its range Radio shows gpu_range_*; its values ("5 min", ...) are not keys.
    "gpu_range_5m": "5 min", "gpu_range_15m": "15 min", "gpu_range_1h": "1 h",
    # The Models tab, written by the server.
    "models_col_active": "Active", "models_col_profile": "Profile", "models_col_name": "Name",
    "models_col_engine": "Engine", "models_col_tp": "TP", "models_col_max_len": "Max len",
    "models_col_fit": "Fit on this machine",
    "models_switch_starting": "Switch starting…", "models_switch_failed": "Switch failed: {error}",
    "models_restart_starting": "Restart starting…",
    "models_restart_failed": "Restart failed: {error}",
    "models_active_profile": "**Active profile:** `{profile}` — model `{model}` ({engine})",
    "models_engine_state": ("**Engine state:** {state} · answers in flight: {in_flight}"
                            " · automatic restarts: {restarts}"),
    "models_last_error": "**Last error:** {error}",
    "models_stays_stopped": "The engine stays stopped until you restart it or switch profile.",
    "models_stays_stopped_log": ("The engine stays stopped until you restart it or switch profile"
                                 " (its log is below)."),
    "models_metrics": "**Engine metrics:** {metrics}",
    "models_replica": "- replica {url}: {health}, {in_flight} in flight",
    "models_replica_cooling": ", cooling down {seconds} s",
    "models_replica_up": "up", "models_replica_down": "down",
    "models_no_gpus": "**GPUs:** none usable ({error}); only CPU profiles can run.",
    # The Users and API keys tabs' tables, written by the server.
    "users_col_id": "Id", "users_col_username": "Username", "users_col_role": "Role",
    "users_col_status": "Status", "users_col_created": "Created",
    "users_col_last_answer": "Last answer",
    "keys_col_id": "Id", "keys_col_name": "Name", "keys_col_prefix": "Starts with",
    "keys_col_created": "Created", "keys_col_revoked": "Revoked",
}

KO: dict[str, str] = {
    "chat": "채팅", "models": "모델", "usage": "사용량", "keys": "API 키",
    "gpu": "GPU 및 엔진", "range": "기간",
    "new_chat": "새 대화", "search": "대화 검색",
    "recent": "최근 대화", "rename_or_delete": "이름 변경 또는 삭제",
    "search_found": "{n}개 찾음", "search_none": "“{query}”와 일치하는 대화가 없습니다",
    "group_today": "오늘", "group_yesterday": "어제",
    "group_previous_7_days": "지난 7일", "group_older": "이전",
    "new_title": "새 제목", "rename": "이름 변경", "delete": "삭제",
    "confirm_delete": "네, 이 대화를 완전히 삭제합니다",
    "message_placeholder": "메시지를 입력하고 Enter를 누르세요", "send": "보내기", "stop": "중지",
    "welcome_title": "무엇을 도와드릴까요?",
    "suggest_explain": "트랜스포머 언어 모델이 어떻게 동작하는지 쉽게 설명해 줘.",
    "suggest_email": "회의를 다음 주로 미루자는 짧고 친절한 이메일을 써 줘.",
    "suggest_ideas": "주말에 해 볼 만한 파이썬 프로젝트 아이디어 세 가지를 알려 줘.",
    "settings_toggle": "⚙ 설정", "model": "모델", "system_prompt": "시스템 프롬프트",
    "temperature": "온도", "max_tokens": "최대 토큰", "preset": "프리셋",
    "preset_name": "새 프리셋 이름", "save_preset": "프리셋으로 저장",
    "make_default": "기본 프롬프트로 사용",
    "signed_in_as": "로그인 사용자", "sign_out": "로그아웃", "thinking": "💭 생각 중",
    "stopped": "중지됨", "failed_here": "엔진 오류로 중단됨",
    "cut_off": "길이 제한에서 잘림", "continue": "계속", "continue_prompt": "계속해 주세요",
    "waiting_switch": "⏳ 모델을 전환하는 중입니다. 준비되면 답변을 시작합니다.",
    "trimmed": "모델의 문맥 길이에 맞추기 위해 이전 메시지 {n}개를 제외했습니다.",
    "users": "사용자", "username": "아이디", "password": "비밀번호", "role": "역할",
    "add_user": "사용자 추가", "choose_user": "사용자", "make_admin": "관리자로 변경",
    "make_user": "일반 사용자로 변경", "disable": "비활성화", "enable": "활성화",
    "new_password": "새 비밀번호", "reset_password": "비밀번호 재설정",
    "delete_user": "사용자 삭제", "confirm_delete_user": "네, 이 사용자와 대화를 삭제합니다",
    "change_password": "내 비밀번호 변경", "current_password": "현재 비밀번호",
    "state_active": "활성", "state_disabled": "비활성", "user_added": "**{name}** ({role}) 추가됨.",
    "user_changed": "**{name}**: {role}, {state}.", "user_deleted": "**{name}** 삭제됨.",
    "choose_user_first": "먼저 사용자를 선택하세요.", "refused_title": "처리하지 못했습니다",
    "role_user": "일반 사용자", "role_admin": "관리자",
    "edit_replaces_later": "이 수정 내용을 보낼까요? 이후의 메시지는 새 답변으로 바뀝니다.",
    "nothing_to_regenerate": "다시 작성할 답변이 아직 없습니다.",
    "open_conversation_first": "먼저 대화를 여세요.",
    "preset_gone": "그 프리셋은 더 이상 없습니다.", "preset_saved": "프리셋 “{name}” 저장됨.",
    "delete_preset": "프리셋 삭제", "preset_deleted": "프리셋을 삭제했습니다.",
    "choose_preset": "먼저 프리셋을 고르세요.",
    "default_saved": "이제 새 대화는 이 시스템 프롬프트로 시작합니다.",
    "keys_intro": ("키로 프로그램이 나 대신 `/v1` (OpenAI API)과 REST API를 쓸 수 있습니다. "
                   "새 키는 **한 번만** 보여 주니 지금 복사하세요."),
    "key_name": "이름", "key_name_placeholder": "예: 노트북 스크립트", "create_key": "키 만들기",
    "new_key": "새 키", "revoke_choice": "폐기할 키", "revoke": "폐기",
    "choose_key": "폐기할 키를 선택하세요", "confirm_revoke": "네, 이 키를 폐기합니다",
    "keys_usage_title": "키 사용 방법",
    "keys_usage_intro": ("기본 URL {base_url} (OpenAI 호환) · 모델 {model}. 키는 "
                         "`Authorization: Bearer` 헤더로 보내세요. curl 예시:"),
    "keys_usage_sdk": "openai Python SDK 예시 (`pip install openai`):",
    "keys_usage_paste": "여기에 키를 붙여 넣으세요",
    "switch_to": "전환할 프로필", "override_fit": "적합성 검사에서 맞지 않아도 전환",
    "switch": "전환", "restart_engine": "엔진 다시 시작", "switch_progress": "전환 진행 상황",
    "engine_log": "엔진 로그 (마지막 줄)",
    "time_range": "기간", "user_filter": "사용자", "refresh": "새로 고침",
    "download_csv": "CSV 내려받기", "requests": "요청", "tokens_over_time": "시간별 토큰",
    "latency": "지연 시간", "outcomes": "결과", "tokens_by_model": "모델별 토큰",
    "tokens_by_user": "사용자별 토큰", "heaviest_users": "가장 많이 쓴 사용자",
    "slowest_requests": "가장 느린 요청",
    "range_24h": "최근 24시간", "range_7d": "최근 7일", "range_30d": "최근 30일",
    "usage_all_models": "모든 모델", "usage_all_users": "모든 사용자", "usage_user_n": "사용자 {id}",
    "usage_no_requests": "이 기간에 요청이 없습니다",
    "usage_no_completed": "이 기간에 완료된 요청이 없습니다",
    "usage_requests_per_minute": "분당 요청", "usage_requests_per_hour": "시간당 요청",
    "usage_requests_per_day": "일별 요청", "usage_tokens_per_minute": "분당 토큰",
    "usage_tokens_per_hour": "시간당 토큰", "usage_tokens_per_day": "일별 토큰",
    "usage_latency_title": "지연 시간, 완료된 요청 {n}개",
    "usage_latency_title_one": "지연 시간, 완료된 요청 1개",
    "usage_outcomes_title": "요청 {n}개의 결과",
    "usage_outcomes_title_one": "요청 1개의 결과",
    "usage_scope_self": "내 요청", "usage_scope_one": "사용자 한 명",
    "usage_scope_all": "모든 사용자", "usage_model_one": "모델 `{model}`",
    "usage_model_all": "모든 모델",
    "usage_summary": ("요청 **{requests}**건 · 토큰 **{tokens}**개 · 오류율 **{error}** · "
                      "취소율 **{cancel}** · TTFT p50 **{ttft}** · 지연 시간 p95 **{latency}**"),
    "usage_summary_one": ("요청 **1**건 · 토큰 **{tokens}**개 · 오류율 **{error}** · "
                          "취소율 **{cancel}** · TTFT p50 **{ttft}** · 지연 시간 p95 **{latency}**"),
    "usage_col_user": "사용자", "usage_col_requests": "요청", "usage_col_tokens": "토큰",
    "usage_col_input": "입력 토큰", "usage_col_output": "출력 토큰",
    "usage_col_failed": "실패", "usage_col_cancelled": "취소",
    "usage_col_request": "요청 ID", "usage_col_model": "모델", "usage_col_status": "상태",
    "usage_col_latency": "지연 시간 (ms)", "usage_col_ttft": "TTFT (ms)",
    "usage_col_time": "시각 (UTC)",
    "usage_trace_completed": "완료", "usage_trace_cancelled": "취소",
    "usage_trace_failed": "실패", "usage_trace_input": "입력", "usage_trace_output": "출력",
    "usage_trace_latency": "지연 시간", "usage_trace_ttft": "첫 토큰까지 시간",
    "usage_axis_time": "시각 (UTC)", "usage_axis_requests": "요청 수", "usage_axis_tokens": "토큰",
    "usage_axis_share": "전체 요청 대비 (%)", "usage_rate_error": "오류율",
    "usage_rate_cancel": "취소율", "usage_rate_5xx": "5xx 비율", "usage_others": "기타 ({n}명)",
    "state_stopped": "중지됨", "state_starting": "시작 중", "state_waiting": "응답 대기 중",
    "state_ready": "준비됨", "state_draining": "마무리 중", "state_switching": "전환 중",
    "state_failed": "실패",
    "gpu_chart_utilization": "GPU 사용률", "gpu_chart_memory": "GPU 메모리 사용량",
    "gpu_chart_temperature": "GPU 온도", "gpu_chart_power": "GPU 전력",
    "gpu_trace_total": "{name} 전체",
    "gpu_chart_engine_requests": "엔진 요청", "gpu_unit_requests": "요청 수",
    "gpu_trace_running": "처리 중", "gpu_trace_waiting": "대기 중",
    "gpu_chart_kv_cache": "KV 캐시 사용률", "gpu_trace_kv_cache": "KV 캐시",
    "gpu_chart_streams": "현재 생성 중인 답변", "gpu_unit_answers": "답변 수",
    "gpu_trace_streams": "생성 중인 답변",
    "gpu_chart_rate": "분당 요청 수", "gpu_unit_rate": "요청/분",
    "gpu_no_gpu": "**GPU 없음**: {reason}. 아래에 앱 측 차트를 표시합니다. 엔진: {state}.",
    "gpu_no_reading": "아직 측정값이 없음", "gpu_status": "**{gpus}** · 엔진: {state}",
    "gpu_range_5m": "5분", "gpu_range_15m": "15분", "gpu_range_1h": "1시간",
    "models_col_active": "사용 중", "models_col_profile": "프로필", "models_col_name": "이름",
    "models_col_engine": "엔진", "models_col_tp": "TP", "models_col_max_len": "최대 길이",
    "models_col_fit": "이 장비에서 실행 가능 여부",
    "models_switch_starting": "전환을 시작하는 중…", "models_switch_failed": "전환 실패: {error}",
    "models_restart_starting": "다시 시작하는 중…",
    "models_restart_failed": "다시 시작 실패: {error}",
    "models_active_profile": "**사용 중인 프로필:** `{profile}` — 모델 `{model}` ({engine})",
    "models_engine_state": ("**엔진 상태:** {state} · 생성 중인 답변: {in_flight}개"
                            " · 자동 재시작: {restarts}회"),
    "models_last_error": "**마지막 오류:** {error}",
    "models_stays_stopped": "엔진을 다시 시작하거나 프로필을 전환할 때까지 엔진은 중지된 상태로 있습니다.",
    "models_stays_stopped_log": ("엔진을 다시 시작하거나 프로필을 전환할 때까지 엔진은 중지된 상태로"
                                 " 있습니다 (로그는 아래에 있습니다)."),
    "models_metrics": "**엔진 지표:** {metrics}",
    "models_replica": "- 레플리카 {url}: {health}, 처리 중 {in_flight}건",
    "models_replica_cooling": ", 재시도 대기 {seconds}초",
    "models_replica_up": "정상", "models_replica_down": "응답 없음",
    "models_no_gpus": "**GPU:** 사용할 수 있는 GPU가 없습니다 ({error}). CPU 프로필만 실행할 수 있습니다.",
    "users_col_id": "ID", "users_col_username": "아이디", "users_col_role": "역할",
    "users_col_status": "상태", "users_col_created": "생성일",
    "users_col_last_answer": "마지막 답변",
    "keys_col_id": "ID", "keys_col_name": "이름", "keys_col_prefix": "키 앞부분",
    "keys_col_created": "만든 시각", "keys_col_revoked": "폐기 시각",
}

# Errors by their stable code; anything not listed keeps the English message.
ERRORS_KO: dict[str, str] = {
    "empty_message": "메시지가 비어 있습니다.",
    "invalid_text": "올바른 유니코드 텍스트가 아닙니다 (짝이 없는 서로게이트 문자는 허용되지 않습니다).",
    "message_too_long": "메시지가 너무 깁니다.",
    "context_length_exceeded": "메시지가 모델의 문맥 길이보다 깁니다.",
    "invalid_credentials": "아이디 또는 비밀번호가 올바르지 않습니다.",
    "rate_limited": "요청이 너무 많습니다. 잠시 후 다시 시도하세요.",
    "queue_per_user": "대기열에서 기다리는 요청이 이미 너무 많습니다. 앞의 요청이 시작된 뒤 다시 시도하세요.",
    "engine_unavailable": "모델 엔진에 연결할 수 없습니다. 시작 중이거나 중지되었을 수 있습니다.",
    "engine_error": "모델 엔진이 답변 도중 응답을 멈췄습니다.",
    "engine_failed": "모델 엔진이 중지된 상태입니다. 관리자가 모델 탭에서 다시 시작할 수 있습니다.",
    "engine_starting": "모델 엔진을 시작하는 중입니다. 잠시 후 다시 시도하세요.",
    "engine_waiting": "모델 엔진이 아직 응답하지 않습니다. 잠시 후 다시 시도하세요.",
    "engine_timeout": ("모델 엔진이 제한 시간 안에 답변을 시작하지 않았습니다."
                       " 과부하 상태이거나 멈췄을 수 있습니다."),
    "switching": "모델을 전환하는 중입니다. 잠시 후 다시 시도하세요.",
    "conversation_not_found": "대화를 찾을 수 없습니다.",
    "invalid_number": "정수를 입력해야 합니다.",
    "invalid_limit": "limit은 1에서 500 사이여야 합니다.",
    "invalid_search": "검색어는 200자까지 입력할 수 있습니다.",
    "model_not_found": "알 수 없는 모델입니다.",
    "model_not_active": ("모델 {model}은(는) 지금 실행 중인 프로필이 아닌 {profile} 프로필의 모델입니다"
                         " (실행 중: {active}). 관리자가 모델 탭에서 그 프로필로 전환할 수 있습니다."),
    "invalid_temperature": "온도는 0에서 2 사이여야 합니다.",
    "invalid_max_tokens": "최대 토큰 값이 허용 범위를 벗어났습니다.",
    "admin_only": "관리자 계정이 필요합니다.",
    "does_not_fit": "이 프로필은 이 장비에 맞지 않습니다.",
    "nothing_to_resend": "다시 답할 메시지가 없습니다.",
    "content_blocked": "메시지에 허용되지 않는 단어나 표현이 들어 있습니다.",
    "too_many_concurrent": ("동시에 작성 중인 답변이 너무 많습니다."
                            " 답변 하나가 끝나거나 중지한 뒤 다시 시도하세요."),
    "quota_exceeded": "오늘 사용할 수 있는 토큰을 모두 사용했습니다. 자정(UTC)에 다시 사용할 수 있습니다.",
    "invalid_top_p": "top_p는 0보다 크고 1 이하여야 합니다.",
    "invalid_stop": "stop은 1~100자의 문자열을 최대 4개까지 받습니다.",
    "invalid_seed": "seed는 64비트 정수여야 합니다.",
    "invalid_presence_penalty": "presence_penalty는 -2에서 2 사이여야 합니다.",
    "invalid_frequency_penalty": "frequency_penalty는 -2에서 2 사이여야 합니다.",
    "password_too_short": "비밀번호가 너무 짧습니다 (PASSWORD_MIN_LENGTH 이상).",
    "password_too_long": "비밀번호가 너무 깁니다 (최대 72바이트).",
    "invalid_username": "아이디는 1~64자의 문자, 숫자, . _ - @ 만 사용할 수 있습니다.",
    "username_taken": "이미 사용 중인 아이디입니다 (삭제된 계정의 아이디 포함).",
    "invalid_role": "역할은 user 또는 admin 입니다.",
    "user_not_found": "사용자를 찾을 수 없습니다.",
    "last_admin": "마지막 관리자는 비활성화하거나 강등하거나 삭제할 수 없습니다.",
    "wrong_password": "현재 비밀번호가 올바르지 않습니다.",
    "account_disabled": "비활성화된 계정입니다. 관리자에게 문의하세요.",
    "session_ended": "세션이 종료되었습니다. 다시 로그인하세요.",
    "invalid_name": "키 이름은 1~100자로 지정하세요.",
    "api_key_not_found": "API 키를 찾을 수 없습니다.",
}

# The fit verdict (engine.fit_text.FIT_EN's keys and placeholders); its values come formatted. A particle
# after a placeholder must not depend on how the value is read: after an amount in GiB 가/를 always
# fit, after a bare number "까지" does where "로" would be wrong for 0.90 ("영으로").
_NO_GPU_KO = "GPU 없음: vLLM에는 NVIDIA GPU {tp}개가 필요하지만 이 장비에서 읽을 수 있는 GPU가 없습니다"
FIT_KO: dict[str, str] = {
    "reason_too_few_gpus": "tensor_parallel_size {tp}에는 GPU {tp}개가 필요하지만 {found}개만 있습니다",
    "reason_missing_gpus": "gpus = {gpus}에 지정한 GPU가 이 장비에 없습니다: {missing}",
    "reason_cpu": "llama.cpp는 CPU에서 실행되므로 GPU가 필요 없습니다",
    "reason_remote": "원격 엔진은 자체 서버에서 실행되므로 이 장비에는 GPU가 필요 없습니다",
    # Korean has no plural: one sentence for English's "1 NVIDIA GPU" and "2 NVIDIA GPUs".
    "reason_no_gpu": _NO_GPU_KO, "reason_no_gpus": _NO_GPU_KO,
    "reason_busy": ("{gpu}의 여유 메모리는 {free}이지만, vLLM 시작 검사에는 {budget} ({util} x {total})와"
                    " CUDA 컨텍스트용 약 {context}가 필요합니다"),
    "reason_over_budget": ("{gpu}: 가중치 {weights} + 오버헤드 {overhead}가 예산 {budget}"
                           " ({util} x {total})를 넘습니다"),
    "reason_kv_short": ("{gpu}: {tokens}토큰 시퀀스 하나에 KV 캐시 {kv}가 필요하지만, 가중치와 오버헤드를"
                        " 빼면 {left}만 남습니다 ({capacity}토큰 분량)"),
    "reason_fits": ("{gpu}: {budget} 중 {need} 필요 (가중치 {weights}, {tokens}토큰 KV {kv},"
                    " 오버헤드 {overhead}); KV 여유 {capacity}토큰"),
    "problem_no_gpu": "GPU 없음",
    "problem_busy": "{gpu} 여유 메모리 {free}뿐, {required} 필요",
    "problem_short": "{gpu}에서 {short} 부족",
    "fix_cpu_profile": "이 장비에서는 llama.cpp (CPU) 프로필을 사용하세요",
    "fix_fewer_gpus": "tensor_parallel_size를 {found}까지 낮추거나 GPU를 추가하세요",
    "fix_present_gpus": "gpus를 이 장비에 있는 GPU로 지정하세요 ({present})",
    "fix_pin": "{names}에 고정하세요 (gpus = {chosen} 설정)",
    "fix_lower_utilization": "gpu_memory_utilization을 {util}까지 낮추세요",
    "fix_free_memory": "{gpu}의 메모리를 비우세요: 다른 프로세스가 {used} 사용 중",
    "fix_free_memory_named": "{gpu}의 메모리를 비우세요: 다른 프로세스가 {used} 사용 중 ({processes})",
    "fix_raise_utilization": "gpu_memory_utilization을 {util}까지 높이세요",
    "fix_four_bit": "4비트 AWQ/GPTQ 프로필을 사용하세요",
    "fix_more_gpus": "GPU를 더 사용하세요 (tensor_parallel_size {tp})",
    "fix_smaller_model": "더 작은 모델이나 더 많은 GPU를 사용하세요",
    "fix_lower_max_model_len": "max_model_len을 {tokens}까지 낮추세요",
    "summary_fits": "맞음",
    "summary_fits_because": "맞음: {reason}",
    "summary_fits_with_spare": "맞음: 여유 {spare}",
    "summary_does_not_fit": "맞지 않음: {problem}",
    "summary_does_not_fit_fix": "맞지 않음: {problem} — {fix}",
    "summary_unknown": "알 수 없음",
}

I18N = gr.I18n(en=EN, ko=KO)


def t(key: str) -> I18nData:
    """A label Gradio translates in the browser."""
    return I18N(key)


def request_language(request: gr.Request | Request | None) -> str:
    """The language of the server-written text for this caller (a Gradio event's request, or
    FastAPI's for a refusal before any handler runs)."""
    try:
        return language(request.headers.get("accept-language") if request else None)
    except (KeyError, AttributeError):  # a request made in code has no HTTP headers
        return "en"


def request_timezone(request: gr.Request | None) -> tzinfo:
    """The caller's time zone, as the page's script set it in the `tz` cookie (the browser's
    IANA name), else UTC: it decides what "Today" means in the conversation list."""
    try:
        return ZoneInfo(str(request.cookies["tz"])) if request else UTC
    except (KeyError, AttributeError, ValueError, ZoneInfoNotFoundError):
        return UTC


def text(key: str, lang: str, **values: object) -> str:
    """Server-written text in the caller's language."""
    table = KO if lang == "ko" else EN
    return table.get(key, EN[key]).format(**values)


def counted(key: str, count: int, lang: str, **values: object) -> str:
    """`text` for a sentence about `count` things, in its `<key>_one` form for one of them
    (English "1 request", not "1 requests")."""
    singular = f"{key}_one"
    return text(singular if count == 1 and singular in EN else key, lang, **values)


def _word(prefix: str, word: str, lang: str) -> str:
    """An identifier's word in the caller's language; a word with no key is shown as it is."""
    key = f"{prefix}_{word}"
    return text(key, lang) if key in EN else word


def state_text(state: str, lang: str) -> str:
    """An engine state word (an EngineState value) in the caller's language ("?" stays "?")."""
    return _word("state", state, lang)


def role_text(role: str, lang: str) -> str:
    """A role ("user", "admin") in the caller's language."""
    return _word("role", role, lang)


def outcome_text(status: str, lang: str) -> str:
    """A request's status ("completed", "cancelled", "failed") in the caller's language."""
    return _word("usage_trace", status, lang)


def headers(keys: Iterable[str], lang: str = "en") -> list[str]:
    """A table's column headers, from their keys, in the caller's language."""
    return [text(key, lang) for key in keys]


def fit_templates(lang: str) -> Mapping[str, str]:
    """The fit verdict's templates (for engine.fit.summary) in the caller's language."""
    return FIT_KO if lang == "ko" else FIT_EN


def error_text(code: str, message: str, lang: str, params: Mapping[str, str] | None = None) -> str:
    """The refusal's message in `lang`; a translation may name what the English one names."""
    if lang != "ko" or code not in ERRORS_KO:
        return message
    try:
        return ERRORS_KO[code].format_map(dict(params or {}))
    except KeyError:  # raised without what the translation names: the English says it all
        return message
