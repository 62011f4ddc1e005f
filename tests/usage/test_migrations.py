"""The usage record's move to the usage app keeps every row of an upgraded database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from usage.models import UsageRecord

BEFORE = [("routing", "0004_complexity_score"), ("usage", None)]


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _latest() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()  # type: ignore[return-value]


@pytest.mark.django_db(transaction=True)
def test_an_upgraded_database_keeps_its_usage_records() -> None:
    """Rows written while the model lived in `routing` are read through `usage` afterwards,
    with the new `protocol` column at its default, and admin permissions follow the model."""
    executor = _migrate(BEFORE)
    old = executor.loader.project_state(BEFORE[:1]).apps
    old_record = old.get_model("routing", "UsageRecord")
    old_key = old.get_model("routing", "ApiKey").objects.create(
        name="old", prefix="sy-old", key_hash="0" * 64
    )
    old_record.objects.create(
        request_id="req_before_move", api_key=old_key, requested_model="sim/fast",
        model="sim/fast", status="ok", cost_usd=Decimal("0.25"), complexity_score=0.5,
    )  # fmt: skip
    ContentType.objects.get_or_create(app_label="routing", model="usagerecord")
    _migrate(_latest())
    moved = UsageRecord.objects.get(request_id="req_before_move")
    assert (moved.protocol, moved.cost_usd, moved.api_key_id) == (
        "chat",
        Decimal("0.25"),
        old_key.id,
    )
    assert ContentType.objects.filter(app_label="usage", model="usagerecord").exists()
    assert not ContentType.objects.filter(app_label="routing", model="usagerecord").exists()


@pytest.mark.django_db
def test_a_fresh_database_has_the_table_under_its_first_name() -> None:
    """The table keeps the name it had in `routing`, so nothing is copied or renamed."""
    assert UsageRecord._meta.db_table == "routing_usagerecord"
    assert "routing_usagerecord" in connection.introspection.table_names()
    assert (
        UsageRecord.objects.create(request_id="r", requested_model="m", status="ok").protocol
        == "chat"
    )
