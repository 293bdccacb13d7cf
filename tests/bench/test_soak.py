"""The gateway soak's plan of calls and its reading of the database (bench.soak)."""

from __future__ import annotations

from collections import Counter

from bench.soak import Answer, soak_call, soak_tally


def test_one_call_in_a_hundred_is_cut_and_one_hangs_among_json_calls_and_streams_alike():
    calls = [soak_call(index) for index in range(2_000)]

    counts = Counter((call.kind, call.fault) for call in calls)

    assert counts == {
        ("json", ""): 980,
        ("stream", ""): 980,
        ("json", "cut"): 10,
        ("stream", "cut"): 10,
        ("json", "hang"): 10,
        ("stream", "hang"): 10,
    }


def test_each_call_carries_its_own_trace_id():
    assert len({soak_call(index).trace_id for index in range(2_000)}) == 2_000


def test_a_cut_stream_is_expected_as_a_200_without_its_end_and_stored_as_disconnected():
    call = next(c for c in map(soak_call, range(200)) if (c.kind, c.fault) == ("stream", "cut"))

    assert call.expected == (200, "upstream_disconnected")
    assert Answer(status=200, complete=False, ms=1.0).as_expected(call)
    assert not Answer(status=200, complete=True, ms=1.0).as_expected(call)


def test_a_hung_json_call_is_expected_as_a_504():
    call = next(c for c in map(soak_call, range(200)) if (c.kind, c.fault) == ("json", "hang"))

    assert Answer(status=504, complete=False, ms=2000.0).as_expected(call)
    assert not Answer(status=502, complete=False, ms=2000.0).as_expected(call)


def test_the_tally_counts_lost_calls_calls_stored_twice_and_other_outcomes():
    answered = {"soak-0": "success", "soak-1": "success", "soak-2": "upstream_timeout", "soak-3": "success"}
    stored = [
        ("soak-0", "success"),
        ("soak-2", "upstream_disconnected"),
        ("soak-3", "success"),
        ("soak-3", "success"),
    ]

    tally = soak_tally(answered=answered, stored=stored)

    assert (tally.stored, tally.lost, tally.twice, tally.wrong_outcome) == (4, 1, 1, 1)
    assert "lost soak-1" in tally.examples


def test_the_tally_of_a_clean_run_is_all_zeros():
    answered = {f"soak-{i}": "success" for i in range(5)}

    tally = soak_tally(answered=answered, stored=[(t, "success") for t in answered])

    assert (tally.stored, tally.lost, tally.twice, tally.wrong_outcome) == (5, 0, 0, 0)
