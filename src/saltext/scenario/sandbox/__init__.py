"""The embedded sandbox: a real Salt cluster in network and mount namespaces (README.md beside this file).

from saltext.scenario.sandbox import Sandbox, load_spec
sb = Sandbox(name="default")
sb.up()                     # default spec: web1..web4, db1, an LB, a master
sb.salt("-C", "G@roles:dev_server and G@country:de", "test.ping")
sb.probe("web1")            # True: the LB reaches web1's web port
sb.down()
"""

from .cluster import Sandbox
from .errors import SandboxError
from .spec import DEFAULT_SPEC, ETCD_SPEC, HAPROXY_SPEC, METRICS_SPEC, load_spec

__all__ = ["DEFAULT_SPEC", "ETCD_SPEC", "HAPROXY_SPEC", "METRICS_SPEC", "Sandbox", "SandboxError", "load_spec"]
