"""A fake Anthropic / OpenAI admin API: a real HTTP server on loopback serving paginated reports."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

# Anthropic's Usage and Cost Analytics API refuses a request that does not name its beta.
ANALYTICS_PREFIX = "/v1/organizations/analytics/"
ANALYTICS_BETA = "analytics-usage-cost-2026-08-24"


class FakeAdminApi:
    """Serves `pages[path]` one page per request, following the `page` cursor it hands out.

    `failures[path]` holds statuses answered (a 429 with Retry-After: 0) before the pages, or
    "stall" for a request left unanswered for `stall_seconds`; `requests`
    records every request's path, query pairs and headers for the tests to assert on.
    """

    def __init__(self):
        self.pages: dict[str, list[dict]] = {}
        self.failures: dict[str, list[int | str]] = defaultdict(list)
        self.stall_seconds = 1.0
        self.requests: list[tuple[str, list[tuple[str, str]], dict[str, str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                query = parse_qsl(url.query)
                api.requests.append((url.path, query, {k.lower(): v for k, v in self.headers.items()}))
                if api.failures[url.path]:
                    failure = api.failures[url.path].pop(0)
                    if failure == "stall":  # answer nothing until the client has timed out
                        time.sleep(api.stall_seconds)
                        return
                    self._send(failure, {"error": {"type": "rate_limit_error"}})
                    return
                beta = self.headers.get("anthropic-beta", "")
                if url.path.startswith(ANALYTICS_PREFIX) and ANALYTICS_BETA not in beta.split(","):
                    error = {"type": "invalid_request_error", "message": f"Send anthropic-beta: {ANALYTICS_BETA}."}
                    self._send(400, {"type": "error", "error": error})
                    return
                pages = api.pages.get(url.path)
                if pages is None:
                    self._send(404, {"error": {"type": "not_found_error"}})
                    return
                cursor = dict(query).get("page")
                index = int(cursor.removeprefix("page_")) if cursor else 0
                more = index + 1 < len(pages)
                body = {**pages[index], "has_more": more, "next_page": f"page_{index + 1}" if more else None}
                self._send(200, body)

            def _send(self, status: int, body: dict):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAdminApi:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]


def anthropic_cost_bucket(day: str, next_day: str, results: list[dict]) -> dict:
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{next_day}T00:00:00Z", "results": results}


def anthropic_cost(workspace: str | None, cents: str, description: str = "Claude Sonnet 4 Usage - Input Tokens"):
    return {
        "currency": "USD",
        "amount": cents,
        "workspace_id": workspace,
        "description": description,
        "cost_type": "tokens",
        "context_window": "0-200k",
        "model": "claude-sonnet-4-20250514",
        "service_tier": "standard",
        "token_type": "uncached_input_tokens",
    }


def anthropic_usage(workspace: str, model: str, **tokens) -> dict:
    return {
        "uncached_input_tokens": tokens.get("uncached", 0),
        "cache_creation": {
            "ephemeral_1h_input_tokens": tokens.get("write_1h", 0),
            "ephemeral_5m_input_tokens": tokens.get("write_5m", 0),
        },
        "cache_read_input_tokens": tokens.get("read", 0),
        "output_tokens": tokens.get("output", 0),
        "server_tool_use": {"web_search_requests": 0},
        "api_key_id": tokens.get("api_key_id", "apikey_01"),
        "workspace_id": workspace,
        "model": model,
        "service_tier": None,
        "context_window": None,
    }


def openai_bucket(start: int, results: list[dict]) -> dict:
    return {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}


def openai_cost(project: str | None, value: str, line_item: str = "gpt-4o-2024-08-06, input") -> dict:
    # The value is written as a JSON number, as OpenAI sends it.
    return {
        "object": "organization.costs.result",
        "amount": {"value": json.loads(value), "currency": "usd"},
        "line_item": line_item,
        "project_id": project,
    }


def openai_usage(project: str, model: str, *, input_tokens: int, output_tokens: int, cached: int = 0) -> dict:
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_cached_tokens": cached,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "num_model_requests": 3,
        "project_id": project,
        "user_id": None,
        "api_key_id": "key_abc",
        "model": model,
        "batch": False,
    }


def analytics_cost(
    day: str,
    next_day: str,
    *,
    cents: str,
    list_cents: str,
    workspace: str | None = "wrkspc_a",
    api_key: str | None = "apikey_01",
    model: str | None = "claude-sonnet-4",
    tier: str | None = "standard",
    actor: dict | None = None,
    token_type: str | None = "uncached_input_tokens",
) -> dict:
    """One row of GET /v1/organizations/analytics/cost (the SDK's BetaAnalyticsCostItem)."""
    return {
        "starting_at": f"{day}T00:00:00Z",
        "ending_at": f"{next_day}T00:00:00Z",
        "group": {
            "workspace_id": workspace,
            "api_key_id": api_key,
            "model": model,
            "service_tier": tier,
            "actor": actor,
            "cost_type": "tokens" if token_type else "web_search",
            "token_type": token_type,
        },
        "cost": {"amount": cents, "list_amount": list_cents, "currency": "USD", "requests": None},
    }


def analytics_usage(day: str, next_day: str, *, workspace: str = "wrkspc_a", tier: str = "standard", **tokens):
    """One row of GET /v1/organizations/analytics/usage (the SDK's BetaAnalyticsUsageItem)."""
    usage = {
        "uncached_input_tokens": tokens.get("uncached", 0),
        "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": tokens.get("write_5m", 0)},
        "cache_read_input_tokens": tokens.get("read", 0),
        "output_tokens": tokens.get("output", 0),
        "requests": tokens.get("requests", 1),
        "server_tool_use": {"web_search_requests": 0},
        "total_tokens": sum(v for k, v in tokens.items() if k != "requests"),
    }
    group = {"workspace_id": workspace, "api_key_id": "apikey_01", "model": "claude-sonnet-4", "service_tier": tier}
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{next_day}T00:00:00Z", "group": group, "usage": usage}
