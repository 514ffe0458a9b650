"""M-11: the whole mini-program API fuzzed from its own OpenAPI schema with schemathesis: no 5xx, every
response (errors too) matches the schema; plus stateful runs along the links claim → upload → detail.

Runs as a logged-in customer with a bound insured person (so ids in links are real), on both
databases, with bounded examples so ``make test`` stays fast.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.backend.storage import images
from tests.miniprogram_api.conftest import MP

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES = 8


@pytest.fixture
def fuzz_mp(mp: MP) -> MP:
    mp.runtime.settings.miniprogram.rate_write_per_user = (10_000, 60)
    mp.runtime.settings.miniprogram.rate_write_per_ip = (10_000, 60)
    mp.runtime.settings.miniprogram.rate_identity_per_user = (10_000, 60)
    mp.runtime.settings.miniprogram.rate_upload_per_user = (10_000, 60)
    return mp


@pytest.fixture
def api_schema(fuzz_mp: MP) -> OpenApiSchema:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_mp.client.app)
    return schema.include(path_regex="^/mp/v1")  # type: ignore[return-value]


@pytest.fixture
def customer(fuzz_mp: MP) -> dict[str, str]:
    headers = fuzz_mp.login()
    insured = fuzz_mp.bind(headers)
    fuzz_mp.report(headers, insured)
    headers["X-Test-Insured"] = str(insured)  # read by the state machine below; ignored by the API
    return headers


def ends_the_session(case: Any) -> bool:
    """Logout, and deleting the account."""
    return bool(case.path.endswith("/auth/logout") or (case.method == "DELETE" and case.path == "/mp/v1/me"))


def good_claim(insured: int) -> dict[str, Any]:
    return {
        "insured_id": insured,
        "claim_type": "hospital_allowance",
        "accident_type": "fall",
        "accident_date": "2026-01-05",
        "description": "摔倒住院",
        "reporter_phone": "13800138000",
    }


def test_m11_every_operation_answers_within_its_schema(
    api_schema: OpenApiSchema, customer: dict[str, str], fuzz_mp: MP
) -> None:
    """Each operation, its examples and generated cases, as the logged-in customer (and anonymously)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25  # the whole API, not a part of it

    statuses: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            # Logging out or deleting the account would end the shared session: a session of its own.
            auth = fuzz_mp.login(consent=False) if ends_the_session(case) else customer
            response = case.call_and_validate(headers={**(case.headers or {}), **auth}, checks=CHECKS)
            statuses.setdefault(case.path, set()).add(response.status_code)

        run()
    # The runs reached the endpoints as the customer (not just 401s): most answered something else.
    authenticated = [p for p, codes in statuses.items() if codes - {401}]
    assert len(authenticated) >= len(statuses) - 1, statuses
    assert any(200 in codes or 201 in codes for p, codes in statuses.items() if p.startswith("/mp/v1/claims"))


def test_m11_stateful_claim_upload_detail(
    api_schema: OpenApiSchema, customer: dict[str, str], fuzz_mp: MP
) -> None:
    machine = api_schema.include(path_regex="^/mp/v1/claims").as_state_machine()  # the claim resources' links
    seen: set[tuple[str, str, int]] = set()
    photo = images.jpeg()

    class Customer(machine):  # type: ignore[misc, valid-type]
        def before_call(self, case: Any) -> None:
            # Every other call of an operation a valid claim and a real photo, the first included,
            # so the chain goes on to the file and the claim's detail (random bodies mostly get a
            # 400/422, which is tested too). Counted per run, never hashed: str hashes change with
            # PYTHONHASHSEED, so a hash made this test pass or fail by the process it ran in.
            calls = self.__dict__.setdefault("calls", {})
            calls[case.method, case.path] = calls.get((case.method, case.path), 0) + 1
            heads = calls[case.method, case.path] % 2 == 1  # the 1st, 3rd, … call of each path in this run
            if case.method == "POST" and case.path == "/mp/v1/claims" and heads:
                case.body = good_claim(int(customer["X-Test-Insured"]))
            if case.method == "POST" and case.path.endswith("/attachments") and heads:
                case.body = {"file": photo}
                case.headers = {**(case.headers or {}), "Idempotency-Key": uuid.uuid4().hex}

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            auth = fuzz_mp.login(consent=False) if ends_the_session(case) else customer
            case.headers = {**(case.headers or {}), **auth}
            return {"headers": case.headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            seen.add((case.method, case.path, response.status_code))
            case.validate_response(response, checks=CHECKS)

    Customer.run(
        settings=settings(
            max_examples=EXAMPLES * 2,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert any(m == "POST" and p == "/mp/v1/claims" and code == 201 for m, p, code in seen), seen


def _resolve(expr: str, request_path: dict[str, Any], body: dict[str, Any]) -> Any:
    if expr.startswith("$response.body#/"):
        return body[expr.split("/", 1)[1]]
    if expr.startswith("$request.path."):
        return request_path[expr.removeprefix("$request.path.")]
    raise AssertionError(f"unsupported link expression {expr}")


def test_m11_links_claim_upload_detail(api_schema: OpenApiSchema, customer: dict[str, str]) -> None:
    """Follow the schema's own links: report → upload (generated and real files) → detail and download."""
    raw = api_schema.raw_schema
    by_id = {
        op["operationId"]: (path, method.upper())
        for path, item in raw["paths"].items()
        for method, op in item.items()
    }
    report_links = raw["paths"]["/mp/v1/claims"]["post"]["responses"]["201"]["links"]
    upload_links = raw["paths"]["/mp/v1/claims/{claim_id}/attachments"]["post"]["responses"]["201"]["links"]
    photo = images.jpeg()
    reached: set[str] = set()

    def call(op_id: str, data: Any, params: dict[str, Any], **overrides: Any) -> Any:
        path, method = by_id[op_id]
        case = data.draw(api_schema[path][method].as_strategy(path_parameters=params, **overrides))
        case.headers = {**(case.headers or {}), **customer}
        response = case.call_and_validate(headers=case.headers, checks=CHECKS)
        if response.status_code < 300:
            reached.add(op_id)
        return case, response

    @given(data=st.data())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def walk(data: Any) -> None:
        _case, made = call(
            "report_mp_v1_claims_post", data, {}, body=good_claim(int(customer["X-Test-Insured"]))
        )
        assert made.status_code == 201, made.text
        claim = made.json()
        for name, link in report_links.items():
            params = {k: _resolve(v, {}, claim) for k, v in link["parameters"].items()}
            real = name == "UploadAttachment" and data.draw(st.booleans())
            extra = (
                {"body": {"file": photo}, "headers": {"Idempotency-Key": uuid.uuid4().hex}} if real else {}
            )
            case, response = call(link["operationId"], data, params, **extra)
            if name == "UploadAttachment":  # always the same draws, whatever the server answered
                made_file = response.json() if response.status_code == 201 else {"id": 2**31 - 1}
                for link2 in upload_links.values():
                    params2 = {
                        k: _resolve(v, case.path_parameters, made_file)
                        for k, v in link2["parameters"].items()
                    }
                    call(link2["operationId"], data, params2)

    walk()
    assert "upload_mp_v1_claims__claim_id__attachments_post" in reached
    assert "download_mp_v1_claims__claim_id__attachments__attachment_id__content_get" in reached
    assert "claim_detail_mp_v1_claims__claim_id__get" in reached
