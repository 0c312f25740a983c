"""The OpenAPI schema is valid, documents every API endpoint, and the docs work offline."""

import io
import re

import pytest
import yaml
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient


def api_routes() -> set[str]:
    """Every routed path under /api/, in OpenAPI's notation ({id} for parameters)."""

    def walk(patterns: list, prefix: str = "") -> set[str]:  # type: ignore[type-arg]
        found: set[str] = set()
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                found |= walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                found.add("/" + route)
        return found

    routes = {re.sub(r"\^|\$|\\\.\(\?P<format>[a-z0-9]+\)/\?", "", r) for r in walk(get_resolver().url_patterns)}
    routes = {re.sub(r"\(\?P<(\w+)>[^)]+\)", r"{\1}", r) for r in routes}
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r) for r in routes}
    return {r for r in routes if r.startswith("/api/") and r not in {"/api/schema/", "/api/docs/"}}


def schema() -> dict:  # type: ignore[type-arg]
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


def test_the_schema_is_valid_and_generates_without_warnings() -> None:
    assert schema()["openapi"].startswith("3.")


def test_every_api_endpoint_is_documented() -> None:
    any_name = lambda paths: {re.sub(r"\{\w+\}", "{}", p) for p in paths}  # noqa: E731  ({pk} = {id})

    assert any_name(api_routes()) - any_name(schema()["paths"]) == set()


def test_bearer_authentication_is_described() -> None:
    document = schema()

    assert document["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert {"jwtAuth": []} in document["paths"]["/api/me/"]["get"]["security"]


@pytest.mark.django_db
def test_swagger_ui_loads_its_assets_from_our_static_files(api_client: APIClient) -> None:
    page = api_client.get("/api/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert assets and all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets)


@pytest.mark.django_db
def test_swagger_ui_has_no_inline_script_so_a_strict_csp_allows_it(api_client: APIClient) -> None:
    page = api_client.get("/api/docs/").content.decode()
    script = re.search(r'<script src="([^"]*\?script=[^"]*)"', page)

    assert not re.search(r"<script>", page)
    assert script and api_client.get(script.group(1).replace("&amp;", "&")).status_code == 200


@pytest.mark.django_db
def test_the_served_schema_is_built_once_and_served_again_unchanged(api_client: APIClient) -> None:
    """Outside review, item 9: built on every request (~42 ms each), anonymous and unthrottled."""
    from unittest import mock

    from core.views import CachedSchemaView

    CachedSchemaView.rendered.clear()
    with mock.patch.object(
        CachedSchemaView, "_get_schema_response", autospec=True, side_effect=CachedSchemaView._get_schema_response
    ) as build:
        first = api_client.get("/api/schema/")
        again = [api_client.get("/api/schema/") for _ in range(5)]
        as_json = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert build.call_count == 2  # once per format: YAML, then JSON
    assert first.status_code == 200 and all(r.content == first.content for r in again)
    assert first["Content-Type"] == again[0]["Content-Type"] and "openapi" in first["Content-Type"]
    assert yaml.safe_load(first.content)["paths"] == as_json.json()["paths"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_docs_can_be_withdrawn(api_client: APIClient, settings, path: str) -> None:  # type: ignore[no-untyped-def]
    settings.API_DOCS_PUBLIC = False

    response = api_client.get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
