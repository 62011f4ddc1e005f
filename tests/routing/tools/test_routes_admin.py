"""The routing table as an admin and as code: validation, dry run, history, import/export."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from routing.catalog.routetable import DEFAULT_ROUTES, install_default_routes
from routing.complexity import get_estimator
from routing.models import Route, RouteTarget

pytestmark = pytest.mark.usefixtures("providers")

SUPPORT = {
    "routes": [
        {
            "slug": "support",
            "strategy": "fallback",
            "targets": [
                {"model": "fakeai/deepseek-chat", "max_tokens": 256, "temperature": 0.3},
                {"model": "fakeai/gpt-4o-mini"},
            ],
        }
    ]
}


@pytest.fixture
def staff() -> Client:
    user = User.objects.create_superuser("admin", "a@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def import_json(payload: Any, tmp_path: Any) -> str:
    path = tmp_path / "routes.json"
    path.write_text(json.dumps(payload))
    out = io.StringIO()
    call_command("import_routes", str(path), stdout=out)
    return out.getvalue()


def test_import_documented_shape_then_export_round_trips(tmp_path: Any) -> None:
    """The README's routes.json shape imports, and export gives it back."""
    assert "Imported 1 route(s): support" in import_json(SUPPORT, tmp_path)
    route = Route.objects.get(slug="support")
    targets = list(route.targets.values_list("model", "max_tokens", "temperature"))
    assert targets == [("fakeai/deepseek-chat", 256, 0.3), ("fakeai/gpt-4o-mini", None, None)]
    out = io.StringIO()
    call_command("export_routes", stdout=out)
    exported = json.loads(out.getvalue())["routes"][0]
    assert exported["slug"] == "support" and exported["strategy"] == "fallback"
    assert exported["targets"][0]["model"] == "fakeai/deepseek-chat"


def test_invalid_import_changes_nothing_and_lists_every_problem(tmp_path: Any) -> None:
    """Any invalid route aborts the whole import, listing all problems."""
    bad = {
        "routes": [
            SUPPORT["routes"][0],
            {
                "slug": "broken",
                "strategy": "rules",
                "targets": [
                    {"model": "nope/model", "temperature": 3},
                    {"model": "fakeai/gpt-4o", "max_tokens": 10_000_000},
                    {"model": "fakeai/gpt-4o", "query_type": ""},
                    {"model": "fakeai/gpt-4o-mini", "query_type": ""},
                ],
            },
        ]
    }
    with pytest.raises(CommandError) as err:
        import_json(bad, tmp_path)
    message = str(err.value)
    assert "routes[1].targets[0].model: unknown model 'nope/model'" in message
    assert "routes[1].targets[0].temperature: must be between 0 and 2" in message
    assert "routes[1].targets[3].query_type: overlaps an earlier rule" in message
    assert not Route.objects.exists()


def test_max_tokens_above_the_model_limit_is_refused(tmp_path: Any) -> None:
    """max_tokens above the model's context window is named as a problem."""
    from routing.models import Model

    Model.objects.filter(model_id="gpt-4o").update(context_window=128000)
    bad = {
        "routes": [
            {
                "slug": "x",
                "strategy": "fallback",
                "targets": [{"model": "fakeai/gpt-4o", "max_tokens": 200000}],
            }
        ]
    }
    with pytest.raises(CommandError, match="above the model's limit 128000"):
        import_json(bad, tmp_path)


def test_unreachable_complexity_band_is_refused(tmp_path: Any) -> None:
    """An unbounded band before others makes them unreachable: refused."""
    bad = {
        "routes": [
            {
                "slug": "x",
                "strategy": "complexity",
                "targets": [
                    {"model": "fakeai/gpt-4o"},
                    {"model": "fakeai/gpt-4o-mini", "max_score": 0.5},
                ],
            }
        ]
    }
    with pytest.raises(CommandError, match="unreachable"):
        import_json(bad, tmp_path)


def test_admin_requires_staff_login() -> None:
    """Anonymous visitors are sent to the login page."""
    response = Client().get("/admin/routing/route/")
    assert response.status_code == 302 and "/admin/login/" in response["location"]


def inline_post(route_fields: dict[str, Any], targets: list[dict[str, Any]]) -> dict[str, Any]:
    data = {
        **route_fields,
        "targets-TOTAL_FORMS": str(len(targets)),
        "targets-INITIAL_FORMS": "0",
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
    }
    for i, target in enumerate(targets):
        for name, value in target.items():
            data[f"targets-{i}-{name}"] = value
    return data


ROUTE_FORM = {
    "slug": "web",
    "strategy": "fallback",
    "estimator": "learned",
    "fallbacks": "[]",
    "cache_ttl_seconds": "0",
    "body_retention_days": "7",
    "enabled": "on",
}


def field_errors(content: str, field_id: str) -> str:
    """The error list the admin renders for one field (by its input id), or ""."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', content, re.S)
    return match.group(1) if match else ""


def test_admin_validation_names_the_field(staff: Client) -> None:
    """Saving a route with a bad target puts each problem on its own cell and saves nothing."""
    data = inline_post(
        ROUTE_FORM, [{"position": "0", "model": "nope/x", "temperature": "2.5", "fallbacks": "[]"}]
    )
    response = staff.post("/admin/routing/route/add/", data)
    assert response.status_code == 200
    content = response.content.decode()
    assert "unknown model" in field_errors(content, "id_targets-0-model")
    assert "must be between 0 and 2" in field_errors(content, "id_targets-0-temperature")
    assert "targets[0]" not in content and "2 problems: see the marked fields." in content
    assert not Route.objects.filter(slug="web").exists()


def test_errors_follow_the_rows_in_position_order(staff: Client) -> None:
    """Rows are checked in position order: an error on the second position lands on its own row,
    whatever its place in the form; a route-level fallback lands on the route's field."""
    rows = [
        {"position": "1", "model": "nope/second", "fallbacks": ""},
        {"position": "0", "model": "fakeai/gpt-4o", "fallbacks": "nope/fb"},
    ]
    data = inline_post({**ROUTE_FORM, "fallbacks": "nope/route-fb"}, rows)
    content = staff.post("/admin/routing/route/add/", data).content.decode()
    assert "nope/second" in field_errors(content, "id_targets-0-model")
    assert field_errors(content, "id_targets-1-model") == ""
    assert "nope/fb" in field_errors(content, "id_targets-1-fallbacks")
    assert "nope/route-fb" in field_errors(content, "id_fallbacks")


def test_editor_uses_the_model_picker(staff: Client) -> None:
    """The model cells, the judge and the fallbacks are pickers; fallbacks post as an ordered list."""
    content = staff.get("/admin/routing/route/add/").content.decode()
    assert content.count("data-model-pick") >= 3 and "js/model-pick.js" in content
    assert "data-fallbacks" in content and "<textarea" not in content.split('id="targets-group"')[1]
    data = inline_post(ROUTE_FORM, [{"position": "0", "model": "fakeai/gpt-4o"}])
    data["targets-0-fallbacks"] = ["fakeai/gpt-4o-mini", "", "fakeai/deepseek-chat"]
    assert staff.post("/admin/routing/route/add/", data).status_code == 302
    target = Route.objects.get(slug="web").targets.get()
    assert target.fallbacks == ["fakeai/gpt-4o-mini", "fakeai/deepseek-chat"]
    page = staff.get(f"/admin/routing/route/{target.route_id}/change/").content.decode()
    assert page.index('value="fakeai/gpt-4o-mini"') < page.index('value="fakeai/deepseek-chat"')


def test_admin_saves_route_and_keeps_history(staff: Client) -> None:
    """A valid route saves, and the admin history lists the change."""
    data = inline_post(ROUTE_FORM, [{"position": "0", "model": "fakeai/gpt-4o", "fallbacks": "[]"}])
    response = staff.post("/admin/routing/route/add/", data)
    assert response.status_code == 302
    route = Route.objects.get(slug="web")
    assert route.targets.get().model == "fakeai/gpt-4o"
    history = staff.get(f"/admin/routing/route/{route.pk}/history/")
    assert b"Added" in history.content


def test_dry_run_shows_plan_without_calling_a_model(staff: Client, fake: Any) -> None:
    """The dry-run form shows the decision and attempts; the upstream sees nothing."""
    route = Route.objects.create(slug="auto-test", strategy="complexity", estimator="learned")
    RouteTarget.objects.create(route=route, position=0, model="fakeai/gpt-4o-mini", max_score=0.5)
    RouteTarget.objects.create(route=route, position=1, model="fakeai/gpt-4o")
    response = staff.post(f"/admin/routing/route/{route.pk}/dry-run/", {"prompt": "What is 2+2?"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "complexity=" in content and "Complexity score" in content
    assert "fakeai/gpt-4o" in content
    assert fake.requests == []
    bands = re.findall(r'<tr( class="selected")?><td>([0-9.]+) – ([0-9.]+)', content)
    assert [(low, high) for _, low, high in bands] == [("0.00", "0.50"), ("0.50", "1.00")]
    score = get_estimator("learned").score("What is 2+2?").value
    assert [bool(chosen) for chosen, _, _ in bands] == [score < 0.5, score >= 0.5]


def test_default_routes_install_and_validate(tmp_path: Any) -> None:
    """A fresh install's default routes pass the same validation as any import."""
    call_command("sync_catalog", stdout=io.StringIO())
    created = install_default_routes()
    assert set(created) == {r["slug"] for r in DEFAULT_ROUTES}
    assert Route.objects.get(slug="auto").targets.count() == 4
    assert install_default_routes() == []  # idempotent, never overwrites


def test_import_rejects_a_slug_that_is_not_text(tmp_path: Any) -> None:
    """A numeric slug is a named problem, not a crash."""
    bad = {
        "routes": [{"slug": 123, "strategy": "fallback", "targets": [{"model": "fakeai/gpt-4o"}]}]
    }
    with pytest.raises(CommandError, match="routes\\[0\\].slug"):
        import_json(bad, tmp_path)
