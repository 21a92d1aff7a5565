"""URLs as they may be shown: a webhook's or a metrics server's URL can carry a secret in its
user info (``user:token@``), its query string (``?token=...``) or its path (a Slack webhook's
last three path parts are the secret). Messages, warnings and reprs show only what names the
service: scheme, host and port.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def shown_url(url: str) -> str:
    """``https://u:p@hooks.example.com:8443/services/T/B/X?k=v`` -> ``https://hooks.example.com:8443/…``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<a malformed URL>"
    if not parts.scheme or not host:
        return "<a malformed URL>"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    shown = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    return shown + ("/…" if hidden else "/")
