"""Legacy completions, images, audio, moderations and count_tokens: each call through the official
SDKs is stored once, its usage mapped and priced exactly, or flagged where it cannot be."""

from __future__ import annotations

from decimal import Decimal

import anthropic
import openai
import pytest

from apps.usage.models import UsageEvent
from tests.factories import ModelPriceFactory, ProductFactory

from .upstream import SPEECH_AUDIO

# serialized_rollback: the flush after a transactional test would drop the environments and tag
# policy that migrations seed, for the tests that follow.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TAGS = {"X-Attribution-Product": "assistant"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WAV = b"RIFF" + b"\x00" * 2000


@pytest.fixture(autouse=True)
def _prices(db):
    for model, inp, out in [
        ("gpt-3.5-turbo-instruct", "1.50", "2"),
        ("gpt-image-1", "5", "40"),
        ("gpt-4o-transcribe", "2.50", "10"),
        ("omni-moderation-2024-09-26", "0", "0"),  # free, as genai-prices lists moderation
        ("claude-test-4", "3", "15"),
    ]:
        provider = "anthropic" if model.startswith("claude") else "openai"
        ModelPriceFactory(provider=provider, model=model, input_per_mtok=Decimal(inp), output_per_mtok=Decimal(out))


@pytest.fixture
def clients(gateway_server, production_key, team):
    """The production key's OpenAI and Anthropic clients, naming the search team's product."""
    ProductFactory(slug="assistant", team=team)
    gateway_server.refresh()
    base = gateway_server.url
    key = production_key.raw_key
    return (
        openai.OpenAI(base_url=f"{base}/gateway/openai/v1", api_key=key, max_retries=0, default_headers=TAGS),
        anthropic.Anthropic(base_url=f"{base}/gateway/anthropic", api_key=key, max_retries=0, default_headers=TAGS),
    )


def _only_event() -> UsageEvent:
    event = UsageEvent.objects.get()
    assert (event.product.slug, event.source, event.missing_tags) == ("assistant", "gateway", "")
    return event


def test_a_legacy_completion_is_recorded_and_priced(clients):
    completion = clients[0].completions.create(model="gpt-3.5-turbo-instruct", prompt="Hi")

    event = _only_event()
    assert (event.event_id, event.input_tokens, event.output_tokens) == (completion.id, 10, 20)
    assert event.billed_cost == Decimal("0.000055000")  # 10 × $1.50 + 20 × $2, per million


def test_a_streamed_legacy_completion_gets_its_usage_without_the_client_seeing_the_usage_chunk(clients, provider):
    chunks = list(clients[0].completions.create(model="gpt-3.5-turbo-instruct", prompt="Hi", stream=True))

    assert [chunk.usage for chunk in chunks] == [None] * 5
    assert b'"include_usage":true' in provider.requests[0]["body"]
    assert _only_event().billed_cost == Decimal("0.000055000")


def test_an_image_generation_is_priced_from_its_reported_usage(clients):
    clients[0].images.generate(model="gpt-image-1", prompt="a cat")

    event = _only_event()
    assert (event.input_tokens, event.output_tokens, event.usage_missing) == (50, 4160, False)
    assert event.billed_cost == Decimal("0.166650000")  # 50 × $5 + 4,160 × $40, per million


def test_a_streamed_image_generation_is_priced_from_its_completed_event(clients):
    events = list(clients[0].images.generate(model="gpt-image-1", prompt="a cat", stream=True))

    assert [e.type for e in events] == ["image_generation.partial_image", "image_generation.completed"]
    assert _only_event().billed_cost == Decimal("0.166650000")


def test_an_image_edit_upload_is_recorded_with_the_model_its_form_names(clients, provider):
    clients[0].images.edit(model="gpt-image-1", image=("cat.png", PNG, "image/png"), prompt="a hat")

    event = _only_event()
    assert (event.model, event.billed_cost) == ("gpt-image-1", Decimal("0.166650000"))
    assert PNG in provider.requests[0]["body"]


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks variations deprecated
def test_an_image_the_price_table_cannot_price_is_stored_flagged_not_dropped(clients):
    clients[0].images.create_variation(model="dall-e-2", image=("cat.png", PNG, "image/png"))

    event = _only_event()
    assert (event.model, event.unpriced, event.usage_missing, event.billed_cost) == (
        "dall-e-2",
        True,
        True,
        Decimal("0E-9"),
    )


def test_speech_is_relayed_whole_and_recorded_without_usage(clients):
    audio = clients[0].audio.speech.create(model="tts-1", voice="alloy", input="Hi")

    assert audio.content == SPEECH_AUDIO
    event = _only_event()
    assert (event.model, event.usage_missing, event.unpriced) == ("tts-1", True, True)


def test_a_transcription_is_priced_from_its_token_usage(clients):
    transcript = clients[0].audio.transcriptions.create(model="gpt-4o-transcribe", file=("hi.wav", WAV, "audio/wav"))

    assert transcript.text == "Hello"
    event = _only_event()
    assert (event.model, event.input_tokens, event.output_tokens) == ("gpt-4o-transcribe", 120, 30)
    assert event.billed_cost == Decimal("0.000600000")  # 120 × $2.50 + 30 × $10, per million


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks translations deprecated
def test_a_translation_billed_by_duration_keeps_its_seconds_and_is_flagged_usage_missing(clients):
    clients[0].audio.translations.create(model="whisper-1", file=("hi.wav", WAV, "audio/wav"))

    event = _only_event()
    assert (event.model, event.usage_missing, event.attributes["audio_seconds"]) == ("whisper-1", True, "7")


def test_a_moderation_is_recorded_free(clients):
    moderation = clients[0].moderations.create(model="omni-moderation-latest", input="Hi")

    event = _only_event()
    assert (event.event_id, event.model) == (moderation.id, "omni-moderation-2024-09-26")
    assert (event.billed_cost, event.unpriced, event.usage_missing) == (Decimal("0E-9"), False, False)


def test_count_tokens_is_recorded_free(clients):
    counted = clients[1].messages.count_tokens(model="claude-test-4", messages=[{"role": "user", "content": "Hi"}])

    assert counted.input_tokens == 42
    event = _only_event()
    assert (event.model, event.input_tokens, event.billed_cost) == ("claude-test-4", 0, Decimal("0E-9"))
    assert (event.unpriced, event.usage_missing) == (False, False)
