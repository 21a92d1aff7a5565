"""The service daemons a sandbox spec asks for (etcd, Prometheus, salt-api)."""

from .api import Api
from .etcd import Etcd
from .prometheus import Prometheus


def services_of(state_dir, spec):
    """{name: Service} of the service daemons the spec asks for, in start order."""
    found = []
    if spec.get("store") == "etcd":
        found.append(Etcd(state_dir, spec))
    if spec.get("prometheus"):
        found.append(Prometheus(state_dir, spec))
    if spec.get("api"):
        found.append(Api(state_dir, spec))
    return {service.name: service for service in found}
