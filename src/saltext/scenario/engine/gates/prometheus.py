"""A small Prometheus client: one instant query (``/api/v1/query``) -> one typed answer.

What the gate needs to judge a check, and nothing else:

- ``Observed``: one number (a scalar, or an instant vector of exactly one series);
- ``Inconclusive``: no verdict can be drawn from this answer: an empty result, NaN, an HTTP
  error, a timeout, an unreachable server. The gate never lets it pass;
- ``Rejected``: Prometheus refused the query itself (HTTP 400 ``bad_data``, 422 execution
  error), with Prometheus' own error text. Retrying cannot help;
- ``SeveralSeries``: the query returned more than one series (named by their label sets); a
  gate judges one number, so the query must aggregate (``sum``, ``max``, ...).

Every request has a timeout (the socket's, and Prometheus' own evaluation ``timeout``).
Redirects are not followed, so credentials never travel to another host. The token and the
password are never in a message or a repr, and the URL is shown as scheme, host and port.
"""

from __future__ import annotations

import base64
import json
import math
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Literal

from ...redact import shown_url

QUERY_PATH = "/api/v1/query"
# An answer this large is not one series: it is read no further.
MAX_ANSWER_BYTES = 1 << 20
# How many series a SeveralSeries message names before "and N more".
SHOWN_SERIES = 3

InconclusiveKind = Literal["empty", "nan", "http", "timeout", "unreachable", "malformed"]


@dataclass(frozen=True)
class Observed:
    value: float
    labels: dict[str, str] = field(default_factory=dict)  # of the one series; {} for a scalar


@dataclass(frozen=True)
class Inconclusive:
    kind: InconclusiveKind
    reason: str


@dataclass(frozen=True)
class Rejected:
    reason: str  # Prometheus' error text


@dataclass(frozen=True)
class SeveralSeries:
    series: tuple[dict[str, str], ...]

    @property
    def reason(self) -> str:
        named = ", ".join(label_set(s) for s in self.series[:SHOWN_SERIES])
        more = len(self.series) - SHOWN_SERIES
        tail = f" and {more} more" if more > 0 else ""
        return (
            f"the query returned {len(self.series)} series ({named}{tail}); "
            "a gate judges one number: aggregate it (sum, max, avg ...)"
        )


Answer = Observed | Inconclusive | Rejected | SeveralSeries


def label_set(labels: dict[str, str]) -> str:
    """``{"instance": "a", "job": "web"}`` -> ``{instance="a", job="web"}``, as Prometheus prints it."""
    inner = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def format_value(value: float) -> str:
    """How a reason quotes a number: ``0.31``, ``1.5e-05``, ``NaN``, ``+Inf``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx reaches the caller as an HTTPError


@dataclass(frozen=True)
class PrometheusClient:
    """Where Prometheus is and how to authenticate; ``query(promql)`` asks it once."""

    url: str
    timeout: float = 5.0
    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    def __post_init__(self) -> None:
        scheme = urllib.parse.urlsplit(self.url).scheme
        if scheme not in ("http", "https"):
            raise ValueError(f"the Prometheus URL {shown_url(self.url)} must start with http:// or https://")
        if self.token and (self.user or self.password):
            raise ValueError("give Prometheus a bearer token or a user and password, not both")
        if bool(self.user) != bool(self.password):
            raise ValueError("basic auth for Prometheus needs both a user and a password")
        if not self.timeout > 0:
            raise ValueError("the Prometheus timeout must be a positive number of seconds")

    def __repr__(self) -> str:
        auth = "token" if self.token else ("basic" if self.user else "none")
        return f"PrometheusClient(url={shown_url(self.url)!r}, timeout={self.timeout}, auth={auth})"

    @property
    def where(self) -> str:
        return shown_url(self.url)

    def _request(self, promql: str) -> urllib.request.Request:
        endpoint = self.url.rstrip("/") + QUERY_PATH
        # POST (form-encoded) so that a long query never meets a URL length limit.
        body = urllib.parse.urlencode({"query": promql, "timeout": f"{self.timeout:g}s"}).encode()
        req = urllib.request.Request(endpoint, data=body, method="POST")  # noqa: S310 - scheme checked above
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        req.add_header("Accept", "application/json")
        if self.token:
            req.add_unredirected_header("Authorization", f"Bearer {self.token}")
        elif self.user and self.password:
            pair = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            req.add_unredirected_header("Authorization", f"Basic {pair}")
        return req

    def _opener(self) -> urllib.request.OpenerDirector:
        handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
        if self.url.startswith("https:"):
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=self.ca_file)))
        return urllib.request.build_opener(*handlers)

    def query(self, promql: str) -> Answer:
        """Ask once. Never raises for what the server or the network does."""
        try:
            with self._opener().open(self._request(promql), timeout=self.timeout) as resp:
                raw = resp.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            return self._http_error(exc)
        except TimeoutError:
            return Inconclusive("timeout", f"Prometheus at {self.where} did not answer within {self.timeout:g} s")
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return Inconclusive("timeout", f"Prometheus at {self.where} did not answer within {self.timeout:g} s")
            return Inconclusive("unreachable", f"Prometheus at {self.where} is unreachable: {_why(exc.reason)}")
        except (OSError, ValueError) as exc:  # a reset connection, a bad TLS setup, a bad CA file
            return Inconclusive("unreachable", f"Prometheus at {self.where} is unreachable: {_why(exc)}")
        if len(raw) > MAX_ANSWER_BYTES:
            return Inconclusive("malformed", f"Prometheus answered more than {MAX_ANSWER_BYTES} bytes")
        return parse_answer(raw)

    def _http_error(self, exc: urllib.error.HTTPError) -> Answer:
        try:
            body = exc.read(MAX_ANSWER_BYTES)
        except OSError:
            body = b""
        finally:
            exc.close()
        error = _error_text(body)
        if exc.code in (400, 422) and error:
            return Rejected(error)
        detail = f": {error}" if error else ""
        return Inconclusive("http", f"Prometheus at {self.where} answered HTTP {exc.code} {exc.reason}{detail}")


def _why(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _error_text(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        kind = data.get("errorType")
        return f"{kind}: {data['error']}" if isinstance(kind, str) and kind else data["error"]
    return ""


def _number(sample: object) -> float | None:
    """``[1700000000.1, "0.02"]`` -> 0.02; None when the sample is not of that shape."""
    if not isinstance(sample, list) or len(sample) != 2 or not isinstance(sample[1], str):
        return None
    try:
        return float(sample[1])
    except ValueError:
        return None


def parse_answer(raw: bytes) -> Answer:
    """The body of a 200 answer from ``/api/v1/query`` -> one typed answer."""
    try:
        data = json.loads(raw)
    except ValueError:
        return Inconclusive("malformed", "Prometheus answered something that is not JSON")
    if not isinstance(data, dict) or data.get("status") != "success" or not isinstance(data.get("data"), dict):
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, str):
            return Rejected(error)
        return Inconclusive("malformed", "Prometheus' answer has no data")
    kind, result = data["data"].get("resultType"), data["data"].get("result")
    if kind == "scalar":
        value = _number(result)
        if value is None:
            return Inconclusive("malformed", "Prometheus answered a malformed scalar")
        return _judgeable(value, {})
    if kind == "vector" and isinstance(result, list):
        series = [s for s in result if isinstance(s, dict)]
        if not series:
            return Inconclusive("empty", "the query returned no series (empty result)")
        labels = [{str(k): str(v) for k, v in (s.get("metric") or {}).items()} for s in series]
        if len(series) > 1:
            return SeveralSeries(tuple(labels))
        value = _number(series[0].get("value"))
        if value is None:
            return Inconclusive("malformed", "Prometheus answered a malformed sample")
        return _judgeable(value, labels[0])
    if kind == "matrix":
        return Rejected("the query returns a range vector; a gate needs an instant vector or a scalar")
    return Inconclusive("malformed", f"Prometheus answered a result of type {kind!r}, not a vector or scalar")


def _judgeable(value: float, labels: dict[str, str]) -> Answer:
    if math.isnan(value):
        # 0/0: a ratio over servers that had no requests in the window. No evidence either way.
        return Inconclusive("nan", "the query returned NaN (no samples to judge, e.g. 0/0)")
    return Observed(value, labels)


def client_from_settings(settings: Any) -> PrometheusClient | None:
    """The client the master options describe (config.Settings' prometheus_*), or None when
    ``scenario_prometheus_url`` is not set (a run with metric steps is then refused)."""
    if not settings.prometheus_url:
        return None
    return PrometheusClient(
        settings.prometheus_url,
        timeout=float(settings.prometheus_timeout),
        token=settings.prometheus_token,
        user=settings.prometheus_user,
        password=settings.prometheus_password,
        ca_file=settings.prometheus_ca,
    )
