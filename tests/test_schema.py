"""The OpenAPI schema is valid OpenAPI 3 and documents every endpoint; its docs pages need no network."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from openapi_spec_validator import validate

EXPECTED_OPERATIONS = {
    ("/api/inventory/", "get"),
    ("/api/inventory/", "post"),
    ("/api/inventory/{item_id}/", "get"),
    ("/api/inventory/{item_id}/", "patch"),
    ("/api/inventory/{item_id}/", "delete"),
    ("/api/inventory/{item_id}/image", "get"),
    ("/api/inventory/{item_id}/thumbnail", "get"),
    ("/api/inventory/export.csv", "get"),
    ("/api/documents/", "get"),
    ("/api/documents/", "post"),
    ("/api/documents/{document_id}/", "get"),
    ("/api/documents/{document_id}/", "delete"),
    ("/api/documents/{document_id}/download", "get"),
    ("/api/uploads/", "get"),
    ("/api/uploads/", "post"),
    ("/api/uploads/{upload_id}/", "get"),
}


@pytest.fixture
def schema(tmp_path) -> dict:
    out = tmp_path / "schema.json"
    # --fail-on-warn: an endpoint drf-spectacular cannot describe exactly fails the suite.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    return json.loads(out.read_text())


def test_schema_is_valid_openapi_3_and_has_every_operation(schema):
    validate(schema)  # raises on any violation of the OpenAPI 3 specification
    assert schema["openapi"].startswith("3.")
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations >= EXPECTED_OPERATIONS
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_list_operations_are_paginated_and_filterable(schema):
    for path, filters in [
        ("/api/inventory/", {"category", "search", "ordering"}),
        ("/api/documents/", {"search"}),
        ("/api/uploads/", {"status"}),
    ]:
        operation = schema["paths"][path]["get"]
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert names >= filters | {"page", "page_size"}
        body = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert body.rsplit("/", 1)[-1].startswith("Paginated")


def test_every_component_is_named_for_what_it_holds(schema):
    # A nested serializer left unnamed becomes `Input`/`Output`, and two of them would collide.
    unnamed = {name for name in schema["components"]["schemas"] if name.startswith(("Input", "Output", "Filter"))}
    assert not unnamed, unnamed
    body = schema["paths"]["/api/uploads/"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    # COMPONENT_SPLIT_REQUEST: a request body has a component of its own (required text is minLength 1).
    assert body == {"$ref": "#/components/schemas/UploadCreateInputRequest"}


def test_operations_are_not_described_by_shared_bases(schema):
    # drf-spectacular describes an operation with the first docstring among its view's classes; the
    # shared API bases are for developers and must not describe every inventory, document and upload call.
    described = {
        (path, method): operation["description"]
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if operation.get("description")
    }
    assert set(described) <= {
        ("/api/inventory/export.csv", "get"),
        ("/api/health/storage", "get"),
        ("/api/auth/token/rotate/", "post"),
        ("/api/auth/token/revoke/", "post"),
    }, described


def test_file_operations_declare_binary_bodies(schema):
    download = schema["paths"]["/api/documents/{document_id}/download"]["get"]["responses"]
    # Served with the type its content was found to be: each one documented.
    assert set(download["200"]["content"]) == {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/markdown",
        "text/plain",
    }
    assert download["200"]["content"]["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert "text/csv" in schema["paths"]["/api/inventory/export.csv"]["get"]["responses"]["200"]["content"]
    assert "image/*" in schema["paths"]["/api/inventory/{item_id}/image"]["get"]["responses"]["200"]["content"]


@pytest.mark.django_db
def test_every_operation_documents_its_error_answers(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert "406" in statuses, (path, method)
            if "{" in path:
                assert "404" in statuses, (path, method)
            if any(p["in"] == "query" for p in operation.get("parameters", [])) or "requestBody" in operation:
                assert "400" in statuses, (path, method)
            if {} not in operation.get("security", []):  # anonymous callers are let in (health, token obtain)
                assert {"401", "403"} <= statuses, (path, method)


@pytest.mark.django_db
def test_schema_endpoint_serves_it():
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content)["info"]["title"] == "Instantory API"


class _AssetCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_only_local_assets(path):
    response = Client().get(path)
    assert response.status_code == 200
    html = response.content.decode()
    collector = _AssetCollector()
    collector.feed(html)
    assert collector.urls, "the page should load its assets"
    for url in collector.urls:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not in the installed static files"
    # Nothing in inline scripts or styles points off the machine either.
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE)
