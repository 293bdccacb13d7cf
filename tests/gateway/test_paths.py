"""One canonical path: every spelling of a path normalises to it, or is refused."""

from __future__ import annotations

import pytest

from apps.gateway.paths import PathRefused, path_normalize, route_resolve

CHAT = "/gateway/openai/v1/chat/completions"


@pytest.mark.parametrize(
    "raw",
    [
        "/gateway/openai/v1/./chat/completions",
        "/gateway/openai/v1/x/../chat/completions",
        "/gateway/openai/v1/x/%2e%2e/chat/completions",
        "/gateway/openai/v1/x/%2E%2E/chat/./completions",
        "/gateway/openai/v1//chat//completions/",
        "/gateway/openai/v1/chat%2fcompletions",
        "/gateway/openai/v1/%63hat/completions",
        "/gateway%2fopenai/v1/chat/completions",
        "/gateway/openai/v1/chat/completions/.",
    ],
)
def test_every_spelling_of_a_path_normalises_to_the_one_path(raw):
    assert path_normalize(raw.encode()) == CHAT


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("/gateway/openai/v1/chat/completions%23", "'#'"),
        ("/gateway/openai/v1/responses%3F", "'?'"),
        ("/gateway/openai/v1/chat/completions%00", "'\\x00'"),
        ("/gateway/openai/v1/chat/completions%0d%0aX-Injected:%201", "'\\n', '\\r'"),
        ("/gateway/openai/v1/chat/completions%252e", "'%'"),
        ("/gateway/openai/v1/chat%5ccompletions", "'\\\\'"),
    ],
)
def test_an_encoded_query_fragment_nul_crlf_or_percent_is_refused_naming_it(raw, named):
    with pytest.raises(PathRefused) as refused:
        path_normalize(raw.encode())
    assert (refused.value.status, refused.value.code) == (400, "invalid_path")
    assert named in refused.value.message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("/gateway/openai/v1/../../../../etc", "climbs above the root"),
        ("/gateway/openai/v1/chat%2", "malformed percent-encoding"),
        ("/gateway/openai/v1/chat%zz", "malformed percent-encoding"),
        ("/gateway/openai/v1/%ff", "not UTF-8"),
    ],
)
def test_a_path_that_does_not_normalise_cleanly_is_refused(raw, message):
    with pytest.raises(PathRefused, match=message):
        path_normalize(raw.encode())


def test_a_refusal_of_an_anthropic_path_is_in_anthropics_format():
    with pytest.raises(PathRefused) as refused:
        path_normalize(b"/gateway/anthropic/v1/messages%23")
    assert refused.value.provider == "anthropic"


def test_a_path_that_normalises_out_of_the_gateways_routes_is_unknown():
    with pytest.raises(PathRefused) as refused:
        route_resolve(raw_path=b"/gateway/openai/v1/../v2/chat/completions", method="POST", passthrough=())
    assert (refused.value.status, refused.value.code) == (404, "unknown_route")


def test_the_route_is_matched_and_sent_upstream_on_the_normalised_path():
    route = route_resolve(raw_path=b"/gateway/openai/v1/x/%2e%2e/chat/completions", method="POST", passthrough=())

    assert (route.provider, route.path, route.endpoint, route.allowed) == (
        "openai",
        "/v1/chat/completions",
        "chat",
        True,
    )
    assert route.upstream_path == "/v1/chat/completions"


def test_an_unrecorded_post_is_refused_and_a_get_passes():
    post = route_resolve(raw_path=b"/gateway/openai/v1/batches", method="POST", passthrough=())
    get = route_resolve(raw_path=b"/gateway/openai/v1/batches", method="GET", passthrough=())

    assert (post.allowed, post.spends) == (False, True)
    assert (get.allowed, get.spends) == (True, False)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "post", "PROPFIND"])
def test_any_other_method_than_a_read_is_refused_off_the_recorded_endpoints(method):
    assert not route_resolve(raw_path=b"/gateway/openai/v1/files/f-1", method=method, passthrough=()).allowed


def test_a_passthrough_prefix_allows_its_paths_segment_by_segment():
    allowed = ("/gateway/openai/v1/files",)

    def resolve(path: str):
        return route_resolve(raw_path=path.encode(), method="POST", passthrough=allowed)

    assert resolve("/gateway/openai/v1/files").allowed
    assert resolve("/gateway/openai/v1/files/file-1/content").allowed
    assert not resolve("/gateway/openai/v1/files-other").allowed
    assert not resolve("/gateway/anthropic/v1/files").allowed
    assert resolve("/gateway/openai/v1/files").endpoint is None


def test_a_path_is_encoded_again_for_the_upstream_so_it_decodes_to_the_same_path():
    route = route_resolve(raw_path=b"/gateway/openai/v1/files/a%20b", method="GET", passthrough=())

    assert (route.path, route.upstream_path) == ("/v1/files/a b", "/v1/files/a%20b")
