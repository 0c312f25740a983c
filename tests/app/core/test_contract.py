"""What the API contract needs of the app: query strings validated as documented, every error
documented, Allow on Nginx's own 405s, strings taken as JSON strings. (make contract holds the
running stack to the schema end to end; these pin down each rule.)"""

import io

import jsonschema_rs
import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import User
from core.errors import ERROR_RESPONSES
from core.schema import LINKS
from notes.models import Note


@pytest.fixture(scope="module")
def document() -> dict:  # type: ignore[type-arg]
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


def operations(document: dict):  # type: ignore[no-untyped-def, type-arg]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"), [("page=abc", "page"), ("page=0", "page"), ("page=1&page=2", "page"), ("page[a]=1", "page[a]"), ("format=json", "format")]
)  # fmt: skip
def test_a_query_string_the_operation_does_not_document_is_a_400(
    auth_client: APIClient, query: str, field: str
) -> None:
    response = auth_client.get(f"/api/notes/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["fields"]


@pytest.mark.django_db
def test_an_operation_without_query_parameters_refuses_any(auth_client: APIClient, api_client: APIClient) -> None:
    assert auth_client.get("/api/me/?x=1").status_code == 400
    assert api_client.get("/api/health/?x=1").status_code == 400
    assert api_client.post("/api/token/?x=1", {}, format="json").status_code == 400


@pytest.mark.django_db
def test_the_documented_page_parameter_still_pages(auth_client: APIClient, user: User) -> None:
    Note.objects.bulk_create([Note(owner=user, title=f"n{i}") for i in range(25)])

    assert len(auth_client.get("/api/notes/?page=2").json()["results"]) == 5
    assert auth_client.get("/api/notes/?page=3").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 1.5, True, ["x"], {"a": 1}])
def test_a_string_field_takes_only_a_json_string(auth_client: APIClient, value: object) -> None:
    response = auth_client.post("/api/notes/", {"title": value}, format="json")

    assert response.status_code == 400 and "title" in response.json()["fields"]


@pytest.mark.django_db
def test_strings_are_kept_as_sent(auth_client: APIClient) -> None:
    response = auth_client.post("/api/notes/", {"title": "\f", "body": " padded "}, format="json")

    assert response.status_code == 201 and response.json()["body"] == " padded "


@pytest.mark.django_db
def test_nginx_s_own_405_is_answered_with_the_resources_allow(auth_client: APIClient, user: User) -> None:
    note = Note.objects.create(owner=user, title="keep me")

    # What Nginx sends for a TRACE (nginx/templates/default.conf.template, @method_not_allowed);
    # the header's value never runs the view, even a method the view has.
    response = auth_client.options(f"/api/notes/{note.pk}/", HTTP_X_METHOD_NOT_ALLOWED="DELETE")
    unrouted = auth_client.options("/api/nowhere/", HTTP_X_METHOD_NOT_ALLOWED="TRACE")

    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    assert Note.objects.filter(pk=note.pk).exists()
    assert unrouted.status_code == 404


def test_every_operation_documents_its_errors_with_the_one_error_component(document: dict) -> None:  # type: ignore[type-arg]
    names = {f"#/components/responses/{name}" for name, _ in ERROR_RESPONSES.values()}
    for path, method, operation in operations(document):
        responses = operation["responses"]
        assert {"400", "406", "502", "503", "504"} <= responses.keys(), (method, path)
        errors = {code: r for code, r in responses.items() if int(code) >= 400 and "$ref" in r}
        assert all(r["$ref"] in names for r in errors.values()), (method, path)
        if operation.get("security") != [{}] or path.startswith("/api/token/"):
            assert "401" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= responses.keys(), (method, path)
    for name, _ in ERROR_RESPONSES.values():
        schema = document["components"]["responses"][name]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}


def test_registration_documents_its_403_and_throttled_operations_their_429(document: dict) -> None:  # type: ignore[type-arg]
    assert "403" in document["paths"]["/api/auth/register/"]["post"]["responses"]
    for path in (
        "/api/auth/password/reset/",
        "/api/auth/password/reset/confirm/",
        "/api/me/email/",
        "/api/auth/email/confirm/",
    ):
        assert "404" in document["paths"][path]["post"]["responses"], path  # ACCOUNT_EMAILS_ENABLED=0
    for path, method, operation in operations(document):
        if path.startswith(("/api/token/", "/api/auth/")) or method in {"post", "put", "patch", "delete"}:
            assert "429" in operation["responses"], (method, path)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [("get", "/api/me/", None, 401), ("get", "/api/notes/9999/", None, 404), ("post", "/api/notes/", {"title": 1}, 400),
     ("get", "/api/notes/?page=x", None, 400)],
)  # fmt: skip
def test_real_error_bodies_match_the_error_component(
    document: dict,
    auth_client: APIClient,
    api_client: APIClient,
    method: str,
    path: str,
    body: object,
    status: int,  # type: ignore[type-arg]
) -> None:
    import jsonschema

    client = api_client if status == 401 else auth_client
    if status == 401:
        client.credentials()
    response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)

    assert response.status_code == status
    jsonschema.validate(response.json(), document["components"]["schemas"]["Error"])


def test_every_link_resolves(document: dict) -> None:  # type: ignore[type-arg]
    ids = {operation["operationId"]: operation for _, _, operation in operations(document)}
    for (source, status), links in LINKS.items():
        documented = ids[source]["responses"][status]["links"]
        assert documented.keys() == links.keys()
        assert all(link["operationId"] in ids for link in documented.values())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "status"),
    [("0@0.a", 400), (" someone@example.com", 400), ("someone@example.com ", 400), ("someone@example.com\n", 400),
     ("a b@example.com", 400), ("someone@ab--c.example", 400), (f"{'x' * 65}@example.com", 400),
     ("o'neil+tag@mail.my-site.example", 202), (f"{'x' * 64}@example.com", 202)],
)  # fmt: skip
def test_an_address_is_taken_exactly_when_the_schema_takes_it(
    api_client: APIClient,
    document: dict,  # type: ignore[type-arg]
    address: str,
    status: int,
) -> None:
    body = document["paths"]["/api/auth/password/reset/"]["post"]["requestBody"]["content"]["application/json"]
    schema = document["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]["email"]
    response = api_client.post("/api/auth/password/reset/", {"email": address}, format="json")

    # The validator schemathesis judges with (formats checked, ECMA-262 regexes).
    assert jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(address) == (status == 202)
    assert response.status_code == status
