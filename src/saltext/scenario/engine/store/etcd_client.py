"""The HTTP client of the etcd fleet store: calls to etcd's v3 JSON gateway (`/v3/...`).

The client is etcd3gw (the optional extra `saltext-scenario[etcd]`): it speaks etcd's v3 JSON
gateway (served by etcd itself since 3.4; Debian 12 ships 3.4) over `requests`, in pure
Python, and is maintained (OpenStack's tooling uses it). The gRPC clients need grpcio, a large
native build on the master for no gain here, and the `etcd3` package is unmaintained. etcd3gw
gives the HTTP session (TLS CA, client certificate and key) and the error types; the requests
themselves are the gateway's JSON (see etcd_keys.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidScenario
from .base import StoreUnavailable

REQUEST_TIMEOUT = 10.0  # seconds one HTTP request to etcd may take

_ERRNO = re.compile(r"\[Errno (-?[0-9]+)\] ([^'\")]+)")


def error_text(exc: Exception) -> str:
    """What etcd or the connection said, without a traceback (or requests' wrapping of it)."""
    detail = getattr(exc, "detail_text", None)
    if isinstance(detail, str) and detail:
        errno = _ERRNO.search(detail)
        if errno:
            return f"{errno.group(2).strip()} (errno {errno.group(1)})"
        if "timed out" in detail:
            return "timed out"
        if "RemoteDisconnected" in detail or "Connection aborted" in detail:
            # requests' wording when etcd closed the connection (stopped mid-request, or a
            # pooled connection it had dropped)
            return "the connection was closed without an answer"
        try:
            body = json.loads(detail)
        except ValueError:
            return detail.strip()[:300]
        if isinstance(body, dict):
            return str(body.get("message") or body.get("error") or detail)[:300]
        return detail[:300]
    return str(exc) or type(exc).__name__


class Gateway:
    """HTTP calls to etcd's v3 JSON gateway, trying each endpoint in turn."""

    def __init__(
        self,
        endpoints: Iterable[str],
        *,
        ca: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        try:
            from etcd3gw.client import Etcd3Client
        except ImportError:
            raise StoreUnavailable(
                "scenario_store: etcd", "the etcd client is not installed: pip install 'saltext-scenario[etcd]'"
            ) from None
        self.endpoints = tuple(endpoints)
        if not self.endpoints:
            raise InvalidScenario("scenario_store is etcd, but scenario_etcd_endpoints is empty")
        self.user = user
        self._password = password
        self.clients = []
        for endpoint in self.endpoints:
            url = urlsplit(endpoint)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise InvalidScenario(f"scenario_etcd_endpoints: not an http(s) URL: {endpoint!r}")
            self.clients.append(
                Etcd3Client(
                    host=url.hostname,
                    port=url.port or 2379,
                    protocol=url.scheme,
                    ca_cert=ca,
                    cert_cert=cert,
                    cert_key=key,
                    timeout=timeout,
                    api_path="/v3/",  # etcd >= 3.4; saves a /version round trip per client
                )
            )
            # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment override the
            # session's CA, and would send etcd's traffic through an HTTP(S)_PROXY: the options
            # alone say how to reach etcd.
            self.clients[-1].session.trust_env = False
        self.current = 0
        self.tokens: dict[int, str] = {}

    def copy(self, timeout: float) -> Gateway:
        """A gateway with sessions of its own and its own request timeout (for the keepalive thread)."""
        other = Gateway.__new__(Gateway)
        other.__dict__.update(self.__dict__)
        other.clients = []
        from etcd3gw.client import Etcd3Client

        for client in self.clients:
            twin = Etcd3Client(
                host=client.host,
                port=client.port,
                protocol=client.protocol,
                timeout=timeout,
                api_path="/v3/",
            )
            twin.session.verify = client.session.verify
            twin.session.cert = client.session.cert
            twin.session.trust_env = False
            other.clients.append(twin)
        other.tokens = {}
        return other

    @property
    def where(self) -> str:
        return ", ".join(self.endpoints)

    def _authenticate(self, index: int) -> None:
        client = self.clients[index]
        client.session.headers.pop("Authorization", None)
        body = client.post(client.get_url("/auth/authenticate"), json={"name": self.user, "password": self._password})
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise StoreUnavailable(self.endpoints[index], f"etcd gave no token for user {self.user!r}")
        client.session.headers["Authorization"] = token
        self.tokens[index] = token

    def post(self, path: str, payload: dict[str, Any], before_change: bool = True) -> dict[str, Any]:
        """One call; a connection failure moves on to the next endpoint. StoreUnavailable names
        the endpoint(s) and etcd's own words."""
        from etcd3gw import exceptions

        last: Exception | None = None
        for step in range(len(self.clients)):
            index = (self.current + step) % len(self.clients)
            client = self.clients[index]
            for attempt in (1, 2):
                try:
                    if self.user and index not in self.tokens:
                        self._authenticate(index)
                    body = client.post(client.get_url(path), json=payload)
                except (exceptions.ConnectionFailedError, exceptions.ConnectionTimeoutError, OSError) as exc:
                    last = exc
                    break  # the next endpoint
                except exceptions.Etcd3Exception as exc:
                    text = error_text(exc)
                    if self.user and "auth token" in text and attempt == 1:
                        self.tokens.pop(index, None)  # expired: authenticate again, once
                        continue
                    if "too many operations" in text:
                        ops = max(len(payload.get(k) or ()) for k in ("compare", "success", "failure"))
                        text = (
                            f"{text}: this request has {ops} operations; start etcd with "
                            f"--max-txn-ops of at least {ops} (the default is 128)"
                        )
                    raise StoreUnavailable(self.endpoints[index], text, before_change=before_change) from None
                except ValueError as exc:
                    raise StoreUnavailable(
                        self.endpoints[index], f"not a JSON answer: {exc}", before_change=before_change
                    ) from None
                self.current = index
                if not isinstance(body, dict):
                    raise StoreUnavailable(self.endpoints[index], "not a JSON object", before_change=before_change)
                return body
        raise StoreUnavailable(
            self.where, error_text(last) if last else "no endpoint", before_change=before_change
        ) from None
