"""What an etcd store error says: etcd's or the connection's own words, never requests' wrapping."""

import pytest

pytest.importorskip("etcd3gw")

from etcd3gw import exceptions

from saltext.scenario.engine.store.etcd_client import error_text


@pytest.mark.parametrize(
    ("detail", "said"),
    [
        (
            "HTTPConnectionPool(host='198.51.100.5', port=2379): Max retries exceeded with url: /v3/kv/put "
            "(Caused by NewConnectionError('...: Failed to establish a new connection: [Errno 111] "
            "Connection refused'))",
            "Connection refused (errno 111)",
        ),
        ("HTTPConnectionPool(host='198.51.100.5', port=2379): Read timed out. (read timeout=10.0)", "timed out"),
        (
            "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
            "the connection was closed without an answer",
        ),
        ('{"error":"etcdserver: too many operations in txn request","code":3}', "too many operations"),
        ('{"message":"etcdserver: user name is empty"}', "etcdserver: user name is empty"),
    ],
)
def test_the_error_text_is_etcds_or_the_connections_own_words(detail, said):
    text = error_text(exceptions.ConnectionFailedError(detail))
    assert said in text and "Traceback" not in text and "HTTPConnectionPool" not in text
