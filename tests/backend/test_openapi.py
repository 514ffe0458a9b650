"""/openapi.json documents every response: each success has a named schema with its fields, and the
errors of the staff API have the one error shape (not FastAPI's default validation shape)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def _schema(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    name = ref.removeprefix("#/components/schemas/")
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


def test_every_success_response_has_a_schema(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = _operations(spec)
    assert len(operations) >= 32  # health, staff, claims, complaints, home visits, roster, audit
    for method, path, op in operations:
        success = {status: r for status, r in op["responses"].items() if status.startswith("2")}
        assert success, (method, path)
        for status, response in success.items():
            content = response.get("content", {})
            if "application/json" not in content and content and all(
                    c.get("schema", {}).get("format") == "binary" for c in content.values()):
                continue  # a file download (e.g. a claim document): documented as binary
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            assert ref, f"{method} {path} {status}: no response model"
            assert _schema(spec, ref).get("properties"), f"{method} {path} {status}: {ref} has no fields"


def test_staff_api_errors_have_the_one_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for method, path, op in _operations(spec):
        if not path.startswith("/staff/api/"):
            continue
        for status in ("401", "403", "422"):
            ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ErrorOut", (method, path, status)
    detail = _schema(spec, "#/components/schemas/ErrorDetail")
    assert set(detail["properties"]) == {"code", "message", "detail"}


def test_staff_and_mini_program_bearer_schemes_are_distinct(client: TestClient) -> None:
    """Two different tokens, two security schemes: each secured operation names its own one."""
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert set(schemes) == {"StaffBearer", "MiniProgramBearer"}
    assert all(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())
    assert "/staff/api/auth/login" in schemes["StaffBearer"]["description"]
    assert "/mp/v1/auth/login" in schemes["MiniProgramBearer"]["description"]
    used: dict[str, set[str]] = {"/staff/api/": set(), "/mp/v1/": set()}
    for _method, path, op in _operations(spec):
        for prefix, names in used.items():
            if path.startswith(prefix):
                names.update(name for requirement in op.get("security", []) for name in requirement)
    assert used == {"/staff/api/": {"StaffBearer"}, "/mp/v1/": {"MiniProgramBearer"}}
