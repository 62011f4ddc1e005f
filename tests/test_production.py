"""Every URL of every app under production settings (DEBUG off, PLAYGROUND_REQUIRE_LOGIN on),
over real HTTP against the app served by uvicorn, for each kind of caller: anonymous, a
non-staff user, staff, an API key, and an API key limited to one region.

People sign in through the tools' own sign-in page, as a browser does. Each cell asserts its
status; nothing answers 500. A last test checks that the matrix names every URL pattern.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from batch.models import BatchJob
from playground.models import Run
from routing.models import ApiKey, Model
from tests.conftest import LiveServer
from usage.models import UsageRecord

PASSWORD = "correct horse battery"
PROMPTS_CSV = b"prompt\nWhat is 2 + 2?\nWrite a haiku about routers.\n"


@dataclass
class World:
    base: str
    staff: User
    member: User
    other_run: int
    member_run: int
    job: int
    key: str
    eu_key: str


@pytest.fixture
def production(settings: Any, live_app: LiveServer) -> None:
    settings.DEBUG = False
    settings.PLAYGROUND_REQUIRE_LOGIN = True


@pytest.fixture
def world(production: None, providers: dict[str, Any], live_app: LiveServer) -> World:
    """The real catalog and default routes, two providers on the fake upstream, three users
    (staff, a member, another member) with a playground run each, a batch job, two keys."""
    call_command("sync_catalog", stdout=io.StringIO())
    call_command("install_default_routes", stdout=io.StringIO())
    staff = User.objects.create_user("ops", password=PASSWORD, is_staff=True, is_superuser=True)
    member = User.objects.create_user("ann", password=PASSWORD)
    other = User.objects.create_user("bob", password=PASSWORD)
    UsageRecord.objects.create(request_id="r1", requested_model="fakeai/gpt-4o", status="ok")
    runs = [
        Run.objects.create(user=user, prompt=f"{user.username}'s question", model_ids=["sim/fast"])
        for user in (other, member)
    ]
    job = BatchJob.create_queued("in.jsonl", b"{}\n", {}, staff)
    _, key = ApiKey.issue("app")
    _, eu_key = ApiKey.issue("eu-app", allowed_regions="eu")
    return World(live_app.url, staff, member, runs[0].pk, runs[1].pk, job.pk, key, eu_key)


@contextlib.contextmanager
def signed_in(base: str, username: str | None) -> Iterator[httpx.Client]:
    """A cookie-keeping client, signed in through /accounts/login/ unless `username` is None."""
    with httpx.Client(base_url=base, timeout=30) as http:
        if username is not None:
            sign_in(http, username)
        yield http


def sign_in(http: httpx.Client, username: str) -> None:
    http.get("/accounts/login/")
    response = http.post(
        "/accounts/login/",
        data={"username": username, "password": PASSWORD, "next": "/playground/"},
        headers={"X-CSRFToken": http.cookies["csrftoken"]},
        cookies={"csrftoken": http.cookies["csrftoken"]},
    )
    assert response.status_code == 302 and response.headers["location"] == "/playground/"


def post(http: httpx.Client, url: str, **kwargs: Any) -> httpx.Response:
    if "csrftoken" not in http.cookies:
        http.get("/accounts/login/")
    headers = {"X-CSRFToken": http.cookies["csrftoken"], **kwargs.pop("headers", {})}
    return http.post(url, headers=headers, **kwargs)


RUN_FORM = {"prompt": "Hi", "system": "", "model": ["sim/fast"], "temperature": [""]}
RUN_FORM |= {"max_tokens": ["8"], "top_p": [""]}
TRAFFIC = "/costcalc/?traffic_from=2026-01-01&traffic_to=2026-12-31"

# (name, request) -> expected status for anonymous, member (not staff), staff.
Request = Callable[[httpx.Client, World], httpx.Response]
PAGES: list[tuple[str, Request, tuple[int, int, int]]] = [
    ("root", lambda h, w: h.get("/"), (302, 302, 302)),
    ("accounts:login", lambda h, w: h.get("/accounts/login/"), (200, 302, 302)),
    ("accounts:logout GET", lambda h, w: h.get("/accounts/logout/"), (405, 405, 405)),
    ("metrics", lambda h, w: h.get("/metrics"), (200, 200, 200)),
    ("playground:index", lambda h, w: h.get("/playground/"), (302, 200, 200)),
    (
        "playground:index permalink",
        lambda h, w: h.get("/playground/?models=sim/fast,fakeai/gpt-4o&prompt=x"),
        (302, 200, 200),
    ),
    (
        "playground:model_search",  # open to anyone, like the catalog (other pages reuse it)
        lambda h, w: h.get("/playground/models/?q=gpt"),
        (200, 200, 200),
    ),
    (
        "playground:pane_row",
        lambda h, w: h.get("/playground/pane-row/?model=sim/fast"),
        (302, 200, 200),
    ),
    (
        "playground:run_detail own",
        lambda h, w: h.get(f"/playground/runs/{w.member_run}/"),
        (302, 200, 200),
    ),
    (
        "playground:run_detail someone else's",
        lambda h, w: h.get(f"/playground/runs/{w.other_run}/"),
        (302, 404, 200),
    ),
    ("playground:recent_runs", lambda h, w: h.get("/playground/runs/"), (403, 200, 200)),
    (
        "playground:recent_runs search",
        lambda h, w: h.get("/playground/runs/?q=question"),
        (403, 200, 200),
    ),
    (
        "playground:export_run json",
        lambda h, w: h.get(f"/playground/runs/{w.member_run}/export.json"),
        (403, 200, 200),
    ),
    (
        "playground:export_run md, someone else's",
        lambda h, w: h.get(f"/playground/runs/{w.other_run}/export.md"),
        (403, 404, 200),
    ),
    (
        "playground:export_run unknown format",
        lambda h, w: h.get(f"/playground/runs/{w.member_run}/export.txt"),
        (404, 404, 404),
    ),
    (
        "playground:rate_run own",
        lambda h, w: post(h, f"/playground/runs/{w.member_run}/rate/", data={"winner": ""}),
        (403, 200, 404),
    ),
    (
        "playground:rate_run invalid",
        lambda h, w: post(h, f"/playground/runs/{w.member_run}/rate/", data={"winner": "9"}),
        (403, 400, 404),
    ),
    ("playground:run", lambda h, w: post(h, "/playground/run/", data=RUN_FORM), (200, 200, 200)),
    (
        "playground:run invalid",
        lambda h, w: post(h, "/playground/run/", data={**RUN_FORM, "model": ["nope/x"]}),
        (200, 422, 422),
    ),
    ("costcalc:index", lambda h, w: h.get("/costcalc/"), (200, 200, 200)),
    (
        "costcalc:index json",
        lambda h, w: h.get("/costcalc/?requests=1000&format=json"),
        (200, 200, 200),
    ),
    ("costcalc:index csv", lambda h, w: h.get("/costcalc/?format=csv"), (200, 200, 200)),
    ("costcalc:index traffic", lambda h, w: h.get(TRAFFIC), (403, 403, 200)),
    (
        "costcalc:index traffic json",
        lambda h, w: h.get(TRAFFIC + "&format=json"),
        (403, 403, 200),
    ),
    (
        "costcalc:upload",
        lambda h, w: post(
            h, "/costcalc/upload/", files={"prompts_file": ("p.csv", PROMPTS_CSV)}, data={}
        ),
        (302, 302, 302),
    ),
    ("usage:dashboard", lambda h, w: h.get("/usage/"), (302, 403, 200)),
    ("usage:dashboard csv", lambda h, w: h.get("/usage/?format=csv"), (302, 403, 200)),
    ("batch:index", lambda h, w: h.get("/batch/"), (302, 403, 200)),
    ("batch:job", lambda h, w: h.get(f"/batch/jobs/{w.job}/"), (302, 403, 200)),
    (
        "batch:job-progress",
        lambda h, w: h.get(f"/batch/jobs/{w.job}/progress/"),
        (302, 403, 200),
    ),
    (
        "batch:job-download",
        lambda h, w: h.get(f"/batch/jobs/{w.job}/input/"),
        (302, 403, 200),
    ),
    (
        "batch:job-cancel",
        lambda h, w: post(h, f"/batch/jobs/{w.job}/cancel/"),
        (302, 403, 302),
    ),
    ("usage:requests", lambda h, w: h.get("/usage/requests/"), (302, 403, 200)),
    ("usage:request unknown", lambda h, w: h.get("/usage/requests/999999/"), (302, 403, 404)),
    ("batch:estimate empty", lambda h, w: post(h, "/batch/estimate/"), (302, 403, 200)),
    ("batch:job-retry unknown", lambda h, w: post(h, "/batch/jobs/999999/retry/"), (302, 403, 404)),
    (
        "batch:job-delete unknown",
        lambda h, w: post(h, "/batch/jobs/999999/delete/"),
        (302, 403, 404),
    ),
    ("modelpages:index", lambda h, w: h.get("/models/"), (302, 200, 200)),
    ("modelpages:pick", lambda h, w: h.get("/models/pick/?q=gpt"), (200, 200, 200)),
    (
        "modelpages:pick routes",
        lambda h, w: h.get("/models/pick/?q=demo&routes=1"),
        (403, 200, 200),
    ),
    ("sim:chat_completions", lambda h, w: post(h, "/sim/v1/chat/completions"), (401, 401, 401)),
    ("sim:models", lambda h, w: h.get("/sim/v1/models"), (401, 401, 401)),
    ("sim:embeddings", lambda h, w: post(h, "/sim/v1/embeddings"), (401, 401, 401)),
    ("v1:models", lambda h, w: h.get("/v1/models"), (401, 401, 401)),
    ("admin:index", lambda h, w: h.get("/admin/"), (302, 302, 200)),
    ("admin:login", lambda h, w: h.get("/admin/login/"), (200, 200, 302)),
    (  # last: it deletes the member's run
        "playground:delete_run someone else's",
        lambda h, w: post(h, f"/playground/runs/{w.other_run}/delete/"),
        (403, 404, 404),
    ),
    (
        "playground:delete_run own",
        lambda h, w: post(h, f"/playground/runs/{w.member_run}/delete/"),
        (403, 200, 404),
    ),
]
WHO = ("anonymous", "member", "staff")


@pytest.mark.parametrize("who", WHO)
def test_every_page_for_each_kind_of_user(world: World, who: str) -> None:
    """Each page answers its expected status to this caller, and none answers 500."""
    username = {"anonymous": None, "member": "ann", "staff": "ops"}[who]
    wrong = []
    with signed_in(world.base, username) as http:
        for name, call, expected in PAGES:
            response = call(http, world)
            want = expected[WHO.index(who)]
            if response.status_code != want:
                wrong.append((name, want, response.status_code, response.text[:200]))
    assert wrong == []


def test_anonymous_redirects_go_to_the_tools_sign_in(world: World) -> None:
    """Anonymous visitors of the tools land on /accounts/login/ with where they were going."""
    with signed_in(world.base, None) as http:
        for url in ("/playground/", "/usage/", "/batch/"):
            location = http.get(url).headers["location"]
            assert location.startswith(f"/accounts/login/?next={url}")
        upload = post(http, "/costcalc/upload/", files={"prompts_file": ("p.csv", PROMPTS_CSV)})
        assert upload.headers["location"].startswith("/accounts/login/")
        run = post(http, "/playground/run/", data=RUN_FORM, headers={"HX-Request": "true"})
        assert run.headers.get("hx-redirect", "").startswith("/accounts/login/")


def test_signed_in_header_names_the_user(world: World) -> None:
    """The header says who is signed in and offers sign-out; anonymous pages offer sign-in."""
    with signed_in(world.base, "ann") as http:
        page = http.get("/costcalc/").text
        assert "Signed in as <strong>ann</strong>" in page and 'data-testid="sign-out"' in page
    with signed_in(world.base, None) as http:
        assert 'data-testid="sign-in-link"' in http.get("/costcalc/").text


def test_traffic_is_refused_without_the_dashboard_permission(world: World) -> None:
    """No per-model breakdown, request count or spend reaches someone who is not staff."""
    with signed_in(world.base, None) as http:
        body = http.get(TRAFFIC + "&format=json").json()
    assert set(body) == {"errors"} and "staff" in body["errors"]["traffic_from"][0]
    with signed_in(world.base, "ops") as http:
        assert "policies" in http.get(TRAFFIC + "&format=json").json()


def test_uploads_are_size_checked_before_they_are_read(world: World) -> None:
    """A body over the upload limit gets 413 at once; nothing is stored."""
    from costcalc.models import PromptSet
    from routing.tools.prompt_files import MAX_UPLOAD_BYTES

    with signed_in(world.base, "ann") as http:
        big = b"prompt\n" + b"x" * (MAX_UPLOAD_BYTES + 200_000)
        response = post(http, "/costcalc/upload/", files={"prompts_file": ("p.csv", big)})
    assert response.status_code == 413
    assert not PromptSet.objects.exists()


def api(world: World, key: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    headers |= kwargs.pop("headers", {})
    return httpx.request(method, world.base + path, headers=headers, timeout=30, **kwargs)


CHAT = {"model": "fakeai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
EU_CHAT = {**CHAT, "model": "fakeanthropic/claude-3-5-sonnet-20241022"}
EMBED = {"model": "sim/embed", "input": ["a", "b"]}
RESPONSE = {"model": "fakeai/gpt-4o", "input": "hi"}
LEGACY = {"model": "fakeai/gpt-4o", "prompt": "Once"}
MESSAGE = {"max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
ANTHROPIC = {"anthropic-version": "2023-06-01"}


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status"),
    [
        ("none", "GET", "/v1/models", None, 401),
        ("none", "POST", "/v1/chat/completions", CHAT, 401),
        ("key", "GET", "/v1/models", None, 200),
        ("key", "GET", "/v1/models/fakeai/gpt-4o", None, 200),
        ("key", "POST", "/v1/chat/completions", CHAT, 200),
        ("key", "GET", "/v1/nope", None, 404),
        ("key", "DELETE", "/v1/models", None, 405),
        ("eu", "GET", "/v1/models", None, 200),
        ("eu", "GET", "/v1/models/fakeai/gpt-4o", None, 404),
        ("eu", "GET", "/v1/models/fakeanthropic/claude-3-5-sonnet-20241022", None, 200),
        ("eu", "POST", "/v1/chat/completions", CHAT, 403),
        ("eu", "POST", "/v1/chat/completions", EU_CHAT, 200),
        ("none", "POST", "/v1/embeddings", EMBED, 401),
        ("key", "POST", "/v1/embeddings", EMBED, 200),  # the simulator, sent the internal token
        ("key", "POST", "/v1/embeddings", {"model": "sim/embed"}, 400),
        ("none", "POST", "/v1/responses", RESPONSE, 401),
        ("key", "POST", "/v1/responses", RESPONSE, 200),
        ("key", "GET", "/v1/responses/resp_nope", None, 404),
        ("eu", "POST", "/v1/responses", RESPONSE, 403),
        ("none", "GET", "/v1/files", None, 401),
        ("key", "GET", "/v1/files", None, 200),
        ("key", "GET", "/v1/files/file-nope", None, 404),
        ("none", "GET", "/v1/batches", None, 401),
        ("key", "GET", "/v1/batches", None, 200),
        ("key", "GET", "/v1/batches/batch_nope", None, 404),
        ("none", "POST", "/v1/completions", LEGACY, 401),
        ("key", "POST", "/v1/completions", {"prompt": "Once"}, 400),
    ],
)
def test_api_with_and_without_keys(
    world: World, fake: Any, who: str, method: str, path: str, body: Any, status: int
) -> None:
    """The /v1 doors for no key, a key, and a key limited to region eu."""
    key = {"none": None, "key": world.key, "eu": world.eu_key}[who]
    response = api(world, key, method, path, json=body)
    assert response.status_code == status, response.text
    if status >= 400:
        assert set(response.json()["error"]) == {"message", "type", "code", "param"}


def test_models_lists_only_what_a_region_limited_key_can_use(world: World) -> None:
    """A key limited to eu sees the eu models only, each with its region."""
    everything = api(world, world.key, "GET", "/v1/models").json()["data"]
    eu_only = api(world, world.eu_key, "GET", "/v1/models").json()["data"]
    assert {m["region"] for m in everything} >= {"us", "eu"}
    assert eu_only and {m["region"] for m in eu_only} == {"eu"}
    assert (
        {m["id"] for m in eu_only}
        == {m["id"] for m in everything if m["region"] == "eu"}
        == {"fakeanthropic/claude-3-5-sonnet-20241022"}
    )


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status"),
    [
        ("none", "POST", "/v1/messages", {**MESSAGE, "model": EU_CHAT["model"]}, 401),
        ("key", "POST", "/v1/messages", {**MESSAGE, "model": EU_CHAT["model"]}, 200),
        ("key", "POST", "/v1/messages", {"model": EU_CHAT["model"]}, 400),
        ("eu", "POST", "/v1/messages", {**MESSAGE, "model": CHAT["model"]}, 403),
        ("key", "POST", "/v1/messages/count_tokens", {**MESSAGE, "model": CHAT["model"]}, 200),
        ("none", "GET", "/v1/models", None, 401),
        ("key", "GET", "/v1/models", None, 200),
        ("eu", "GET", "/v1/models/fakeai/gpt-4o", None, 404),
        ("eu", "GET", "/v1/models/fakeanthropic/claude-3-5-sonnet-20241022", None, 200),
    ],
)
def test_anthropic_door_with_and_without_keys(
    world: World, fake: Any, who: str, method: str, path: str, body: Any, status: int
) -> None:
    """The Anthropic door (x-api-key, as the anthropic SDK sends it), in Anthropic's envelope."""
    key = {"none": None, "key": world.key, "eu": world.eu_key}[who]
    headers = {**ANTHROPIC, **({"x-api-key": key} if key else {})}
    response = httpx.request(method, world.base + path, headers=headers, json=body, timeout=30)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.json()["type"] == "error" and response.json()["error"]["message"]


def test_anthropic_models_list_only_what_a_region_limited_key_can_use(world: World) -> None:
    """/v1/models in Anthropic's shape is filtered by the key's regions, as OpenAI's is."""

    def ids(key: str) -> set[str]:
        headers = {**ANTHROPIC, "x-api-key": key}
        response = httpx.get(world.base + "/v1/models", headers=headers, timeout=30)
        data = response.json()["data"]
        assert all(m["type"] == "model" for m in data)
        return {m["id"] for m in data}

    everything = ids(world.key)
    assert "fakeai/gpt-4o" in everything
    assert ids(world.eu_key) == {"fakeanthropic/claude-3-5-sonnet-20241022"}


def test_v1_honours_allowed_hosts(world: World) -> None:
    """The /v1 fast path refuses a Host that is not in ALLOWED_HOSTS, like every other path."""
    for path in ("/v1/models", "/metrics"):
        response = httpx.get(
            world.base + path,
            headers={"host": "evil.example", "authorization": f"Bearer {world.key}"},
        )
        assert response.status_code == 400, path
    assert httpx.get(world.base + "/v1/models", headers={"host": "evil.example"}).json()["error"][
        "code"
    ] == ("invalid_host")
    for path, body in (("/v1/embeddings", EMBED), ("/v1/responses", RESPONSE)):
        response = api(world, world.key, "POST", path, json=body, headers={"host": "evil.example"})
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_host"
    refused = httpx.post(
        world.base + "/v1/messages",
        json={**MESSAGE, "model": EU_CHAT["model"]},
        headers={**ANTHROPIC, "x-api-key": world.key, "host": "evil.example"},
    )
    assert refused.status_code == 400 and refused.json()["type"] == "error", refused.text


def test_admin_pages_for_staff(world: World) -> None:
    """Every registered model's list and add page in the admin, for staff; none is a 500."""
    urls = []
    for model in admin.site._registry:
        meta = model._meta
        urls += [f"/admin/{meta.app_label}/{meta.model_name}/"]
        urls += [f"/admin/{meta.app_label}/{meta.model_name}/add/"]
    urls.append(f"/admin/routing/model/{Model.objects.first().pk}/change/")  # type: ignore[union-attr]
    with signed_in(world.base, "ops") as http:
        statuses = {url: http.get(url).status_code for url in urls}
    assert {url: s for url, s in statuses.items() if s not in (200, 403)} == {}
    assert sum(s == 200 for s in statuses.values()) >= len(urls) - 4  # usage records: no add


def _patterns(resolvers: list[Any], prefix: str = "") -> Iterator[str]:
    for entry in resolvers:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("admin/"):
                continue  # the admin's own URLs: test_admin_pages_for_staff
            yield from _patterns(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


COVERED = {
    "",
    "metrics",
    "^v1(/.*)?$",
    "sim/v1/chat/completions",
    "sim/v1/models",
    "sim/v1/embeddings",
    "accounts/login/",
    "accounts/logout/",
    "playground/",
    "playground/run/",
    "playground/models/",
    "playground/pane-row/",
    "playground/runs/<int:pk>/",
    "playground/runs/",
    "playground/runs/<int:pk>/delete/",
    "playground/runs/<int:pk>/rate/",
    "playground/runs/<int:pk>/export.<str:fmt>",
    "costcalc/",
    "costcalc/upload/",
    "batch/",
    "batch/jobs/<int:pk>/",
    "batch/jobs/<int:pk>/progress/",
    "batch/jobs/<int:pk>/cancel/",
    "batch/jobs/<int:pk>/<str:kind>/",
    "usage/",
    "usage/requests/",
    "usage/requests/<int:pk>/",
    "batch/estimate/",
    "batch/jobs/<int:pk>/retry/",
    "batch/jobs/<int:pk>/delete/",
    "models/",
    "models/pick/",
}


def test_the_matrix_names_every_url() -> None:
    """A new URL without a production-settings row above fails here."""
    routes = set(_patterns(get_resolver().url_patterns))
    assert routes == COVERED
