"""Schemathesis against the server's own /openapi.json, unsigned and signed by an enrolled
device: no 5xx, every answer conforms to the schema (THREAT_MODEL.md, network attacker and
malicious enrolled worker). Bounded example counts keep it a few seconds per operation."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from fieldkit.sync.protocol import auth_header, new_nonce, now_ms, request_message
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from fieldkit.store import Store
from tests.sync.conftest import Agency

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class DeviceSignature(requests.auth.AuthBase):
    """Sign each request as the fieldkit client does (method, path, time, nonce, body)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else bytes(body)
        ts, nonce = now_ms(), new_nonce()
        path = requests.utils.unquote(request.path_url.split("?")[0])
        query = request.path_url.partition("?")[2]
        signed_path = path + (f"?{query}" if query else "")
        method = request.method or "GET"
        sig = self.store.device_sign_key.sign(request_message(method, signed_path, ts, nonce, raw))
        request.headers["authorization"] = auth_header(self.store.device_id, ts, nonce, sig)
        return request


@pytest.fixture
def api(agency: Agency) -> Any:
    """The live server's schema, with a supervisor's enrolled laptop to sign with."""
    agency.api_store = agency.laptop("akhan")  # type: ignore[attr-defined]
    probe = requests.get(
        agency.url + "/v1/keys?devices_since=0",
        auth=DeviceSignature(agency.api_store),  # type: ignore[attr-defined]
        timeout=30,
    )
    assert probe.status_code == 200, probe.text  # the signed run gets past authentication
    return schemathesis.openapi.from_url(agency.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api")
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@schema.parametrize()
@SETTINGS
def test_unsigned_requests_get_no_5xx_and_conform(case: Any) -> None:
    """Anyone on the network."""
    case.call_and_validate(session=requests.Session(), checks=CHECKS, timeout=30)


@schema.parametrize()
@SETTINGS
def test_signed_requests_get_no_5xx_and_conform(case: Any, agency: Agency) -> None:
    """An enrolled supervisor's laptop sending whatever the schema allows, and more."""
    http = requests.Session()
    http.auth = DeviceSignature(agency.api_store)  # type: ignore[attr-defined]
    case.call_and_validate(session=http, checks=CHECKS, timeout=30)
