"""`store: etcd`: one real etcd member (Debian's etcd-server) for the masters' fleet store.

Its data dir lives in the sandbox's state dir, so `down` removes it. `--max-txn-ops` is raised
from etcd's 128 so that one transaction can claim 1,000 hosts (one compare and one put each).
"""

from .services import Service
from .spec import ETCD_ADDRESS

CLIENT_PORT = 2379
PEER_PORT = 2380
MAX_TXN_OPS = 10000


class Etcd(Service):
    name = "etcd"
    kind = "et"
    address = ETCD_ADDRESS
    port = CLIENT_PORT
    health_path = "/health"

    def argv(self):
        client, peer = self.url, f"http://{self.address}:{PEER_PORT}"
        return [
            "etcd",
            "--name",
            "sandbox",
            "--data-dir",
            str(self.root / "data"),
            "--listen-client-urls",
            client,
            "--advertise-client-urls",
            client,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"sandbox={peer}",
            "--initial-cluster-state",
            "new",
            "--max-txn-ops",
            str(MAX_TXN_OPS),
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]

    def master_config(self):
        return {"scenario_store": "etcd", "scenario_etcd_endpoints": [self.url]}
