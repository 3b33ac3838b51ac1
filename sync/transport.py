"""The laptop's signed HTTP transport to its agency server, and the refusals it raises.

Below every laptop-side sync module (`client`, `userkey`, `wipe`, `attachment_sync`,
`carryover`): it knows requests, signatures and TLS, not what a sync does.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import certifi
import httpx

from fieldkit.errors import FieldkitError, OfflineError
from fieldkit.i18n import _, ngettext
from fieldkit.store import Store

from . import outcome
from .protocol import (
    WIPE_REQUESTED,
    Hello,
    KeysResponse,
    auth_header,
    new_nonce,
    now_ms,
    request_message,
)

# Profile meta: the server's `devices_as_of`, so the next keys request lists new devices only.
DEVICES_AS_OF = "sync_devices_as_of"
TIMEOUT_S = 30.0


class SyncRefused(FieldkitError):
    """The server refused this laptop (revoked, unknown, not on a case); nothing was lost."""

    exit_code = outcome.EXIT_DEVICE_REFUSED


class WipeRequested(SyncRefused):
    """The agency revoked this laptop with --wipe: send the pending work, then erase."""


class NotEnrolled(FieldkitError):
    """This profile has not been enrolled with an agency server yet."""


_tls: ssl.SSLContext | None = None
_tls_lock = threading.Lock()


def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle costs ~40 ms of CPU,
    which every sync paid again when each client built its own (httpx's default)."""
    global _tls
    with _tls_lock:
        if _tls is None:
            # The same trust as httpx's default (SSL_CERT_FILE / SSL_CERT_DIR, else certifi).
            if os.environ.get("SSL_CERT_FILE"):
                _tls = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
            elif os.environ.get("SSL_CERT_DIR"):
                _tls = ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
            else:
                _tls = ssl.create_default_context(cafile=certifi.where())
        return _tls


class SyncClient:
    """Signed requests from this device to its agency server."""

    def __init__(
        self, store: Store, url: str | None = None, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.store = store
        base = url or store.meta("sync_url")
        if not base:
            raise NotEnrolled(
                _(
                    "this laptop is not enrolled with an agency server; run `fieldkit "
                    "enroll URL CODE`"
                )
            )
        self.url = base.rstrip("/")
        self.offset_ms = 0
        self._http = httpx.Client(
            base_url=self.url, timeout=TIMEOUT_S, transport=transport, verify=_tls_context()
        )

    def close(self) -> None:
        """Drop the connection pool."""
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _offline(self, reason: str) -> OfflineError:
        waiting = self.store.outbox_count()
        return OfflineError(
            ngettext(
                "{waiting} change waiting to sync; nothing lost ({reason})",
                "{waiting} changes waiting to sync; nothing lost ({reason})",
                waiting,
            ).format(waiting=waiting, reason=reason)
        )

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        signed: bool,
        quiet: bool = False,
        raw: bool = False,
    ) -> Any:
        try:
            response = self._exchange(method, path, body, signed)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        return self._answer(response, quiet, raw)

    def _exchange(self, method: str, path: str, body: bytes | None, signed: bool) -> httpx.Response:
        """Sign and send one request and read its answer whole; no store access, so it may
        run on another thread (`send_ahead`)."""
        headers = {"content-type": "application/json"}
        payload = body or b""
        if signed:
            ts, nonce = now_ms() + self.offset_ms, new_nonce()
            sig = self.store.device_sign_key.sign(request_message(method, path, ts, nonce, payload))
            headers["authorization"] = auth_header(self.store.device_id, ts, nonce, sig)
        return self._http.request(method, path, content=payload, headers=headers)

    def _unreachable(self, exc: httpx.TransportError) -> OfflineError:
        if isinstance(exc, httpx.TimeoutException):
            return self._offline(
                _("the server at {url} did not answer in time").format(url=self.url)
            )
        return self._offline(_("cannot reach the server at {url}").format(url=self.url))

    def _answer(self, response: httpx.Response, quiet: bool = False, raw: bool = False) -> Any:
        if response.status_code >= 500:
            raise self._offline(_("the server at {url} is unavailable").format(url=self.url))
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail"))
            except (ValueError, AttributeError):
                detail = response.text[:200]
            if detail == WIPE_REQUESTED:
                raise WipeRequested(detail)
            if quiet:
                raise SyncRefused(detail)
            raise SyncRefused(
                _(
                    "the server refused this request: {detail} ({outbox_count} changes "
                    "waiting on this laptop; nothing lost)"
                ).format(detail=detail, outbox_count=self.store.outbox_count())
            )
        if raw:
            return response.content
        return response.json() if response.content else None

    def send_ahead(self, sender: Executor, path: str, body: bytes) -> Callable[[], bytes]:
        """Start a signed POST on `sender`'s one thread and return the call that waits for
        its answer's bytes. The wait releases the GIL, so the caller works meanwhile; the
        answer is judged (refusals, offline) on the caller's thread, when it asks, so what
        the caller wrote to the store by then is what an error message counts."""
        future = sender.submit(self._exchange, "POST", path, body, True)

        def answer() -> bytes:
            try:
                response = future.result()
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from None
            content: bytes = self._answer(response, raw=True)
            return content

        return answer

    def get(self, path: str, signed: bool = True) -> Any:
        """A signed GET."""
        return self._send("GET", path, None, signed)

    def post(self, path: str, value: Any, signed: bool = True, method: str = "POST") -> Any:
        """A signed POST (or PUT) of JSON."""
        body = json.dumps(value, separators=(",", ":")).encode()
        return self._send(method, path, body, signed)

    def post_raw(self, path: str, value: Any) -> bytes:
        """A signed POST whose answer's bytes the caller parses (a pulled page is read
        straight into its pydantic model, without building dicts first)."""
        body = json.dumps(value, separators=(",", ":")).encode()
        answer: bytes = self._send("POST", path, body, True, raw=True)
        return answer

    def hello(self) -> Hello:
        """Server time (to sign with the server's clock) and keys."""
        before = now_ms()
        hello = Hello.model_validate(self.get("/v1/hello", signed=False))
        after = now_ms()
        self.offset_ms = hello.server_time_ms - (before + after) // 2
        pinned = self.store.meta("server_sign_pub")
        if pinned and pinned != hello.server_sign_pub:
            raise SyncRefused(
                _(
                    "the server at {url} is not the one this laptop enrolled with (its "
                    "key changed); nothing was sent; ask your IT lead"
                ).format(url=self.url)
            )
        return hello


def fetch_keys(store: Store, client: SyncClient, every_device: bool = False) -> KeysResponse:
    """Envelopes, teams and the devices enrolled since the last answer (or all of them)."""
    since = None if every_device else store.meta(DEVICES_AS_OF)
    path = f"/v1/keys?devices_since={int(since)}" if since else "/v1/keys"
    return KeysResponse.model_validate(client.get(path))
