"""The usage record, moved here from the routing app: state only, the table keeps its name
(`routing_usagerecord`) and its rows. Admin permissions follow the model (content type)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def move_content_type(apps, schema_editor):  # type: ignore[no-untyped-def]
    content_type = apps.get_model("contenttypes", "ContentType")
    old = content_type.objects.filter(app_label="routing", model="usagerecord")
    if not content_type.objects.filter(app_label="usage", model="usagerecord").exists():
        old.update(app_label="usage")


def restore_content_type(apps, schema_editor):  # type: ignore[no-untyped-def]
    content_type = apps.get_model("contenttypes", "ContentType")
    found = content_type.objects.filter(app_label="usage", model="usagerecord")
    if not content_type.objects.filter(app_label="routing", model="usagerecord").exists():
        found.update(app_label="routing")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("routing", "0005_usagerecord_to_usage"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="UsageRecord",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                        ),
                        ("request_id", models.CharField(db_index=True, max_length=40)),
                        (
                            "source",
                            models.CharField(
                                choices=[("api", "API"), ("playground", "Playground"), ("batch", "Batch")],
                                default="api",
                                max_length=20,
                            ),
                        ),
                        ("requested_model", models.CharField(max_length=250)),
                        ("route", models.CharField(blank=True, max_length=100)),
                        (
                            "model",
                            models.CharField(
                                blank=True, help_text="The model that answered.", max_length=250
                            ),
                        ),
                        ("provider", models.CharField(blank=True, max_length=40)),
                        ("status", models.CharField(max_length=20)),
                        ("http_status", models.PositiveSmallIntegerField(default=200)),
                        ("error_type", models.CharField(blank=True, max_length=60)),
                        ("stream", models.BooleanField(default=False)),
                        ("input_tokens", models.PositiveIntegerField(default=0)),
                        ("output_tokens", models.PositiveIntegerField(default=0)),
                        ("cached_tokens", models.PositiveIntegerField(default=0)),
                        ("tokens_estimated", models.BooleanField(default=False)),
                        (
                            "cost_usd",
                            models.DecimalField(blank=True, decimal_places=8, max_digits=14, null=True),
                        ),
                        ("price_known", models.BooleanField(default=True)),
                        ("latency_ms", models.FloatField(blank=True, null=True)),
                        ("ttft_ms", models.FloatField(blank=True, null=True)),
                        ("attempts", models.JSONField(blank=True, default=list)),
                        ("decision", models.CharField(blank=True, max_length=300)),
                        ("query_type", models.CharField(blank=True, max_length=40)),
                        ("cache_hit", models.BooleanField(default=False)),
                        (
                            "complexity_score",
                            models.FloatField(
                                blank=True,
                                help_text="Complexity routes: the prompt's score (for calibration).",
                                null=True,
                            ),
                        ),
                        (
                            "saved_usd",
                            models.DecimalField(
                                blank=True,
                                decimal_places=8,
                                help_text="Cache hits: what it would have cost.",
                                max_digits=14,
                                null=True,
                            ),
                        ),
                        (
                            "api_key",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to="routing.apikey",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "routing_usagerecord",
                        "ordering": ["-created_at"],
                        "indexes": [
                            models.Index(
                                fields=["api_key", "created_at"], name="routing_usa_api_key_8ac841_idx"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, restore_content_type),
    ]
