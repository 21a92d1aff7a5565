"""`prometheus: true`: Debian's Prometheus scraping HAProxy's built-in exporter every second.

It runs in a namespace of its own on a sandbox address; its TSDB lives in the state dir with a
short retention (a sandbox lives minutes). Every master gets `scenario_prometheus_url`, so the
runner's metric steps ask it.
"""

import yaml

from .balancer import EXPORTER_PORT
from .services import Service
from .spec import PROMETHEUS_ADDRESS

PORT = 9090
SCRAPE_INTERVAL = "1s"
RETENTION = "2h"


class Prometheus(Service):
    name = "prometheus"
    kind = "pr"
    address = PROMETHEUS_ADDRESS
    port = PORT
    health_path = "/-/ready"

    @property
    def config_file(self):
        return self.root / "prometheus.yml"

    def write_files(self):
        super().write_files()
        config = {
            "global": {
                "scrape_interval": SCRAPE_INTERVAL,
                "scrape_timeout": SCRAPE_INTERVAL,
                "evaluation_interval": SCRAPE_INTERVAL,
            },
            "scrape_configs": [
                {"job_name": "haproxy", "static_configs": [{"targets": [f"{self.spec['lb']}:{EXPORTER_PORT}"]}]}
            ],
        }
        self.config_file.write_text(yaml.safe_dump(config, default_flow_style=False))

    def argv(self):
        return [
            "prometheus",
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.root / 'data'}",
            f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address={self.address}:{self.port}",
        ]

    def master_config(self):
        return {"scenario_prometheus_url": self.url}
