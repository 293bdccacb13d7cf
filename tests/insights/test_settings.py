from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.insights.models import SavingsSettings


def _refused(config: SavingsSettings) -> dict:
    try:
        config.full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


def test_the_defaults_are_valid(config):
    assert _refused(config) == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("working_timezone", "Mars/Olympus"),
        ("working_hours_end", 6),
        ("caching_target_read_share", Decimal("1.5")),
        ("caching_reads_per_write", 0),
    ],
)
def test_a_bad_threshold_is_refused_naming_its_field(config, field, value):
    setattr(config, field, value)

    with pytest.raises(ValidationError) as refused:
        config.full_clean()

    assert field in refused.value.message_dict


def test_there_is_one_settings_row(db):
    assert SavingsSettings.current().pk == SavingsSettings.current().pk == 1
