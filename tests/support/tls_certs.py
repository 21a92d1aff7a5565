"""A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with the
openssl command line (EC P-256 keys: fast), for the etcd store's TLS test.

The server certificate is also good for client auth: etcd 3.4's JSON gateway connects to
etcd's own gRPC port with it, and with `--client-cert-auth` that connection needs clientAuth.
"""

import subprocess
from pathlib import Path


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _signed(directory, name, subject, extensions, ca):
    key, csr, cert, ext = (directory / f"{name}{suffix}" for suffix in ("-key.pem", ".csr", ".pem", ".ext"))
    ext.write_text(extensions + "\n")
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", subject,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca["ca"]), "-CAkey", str(ca["ca_key"]),
        "-CAcreateserial", "-out", str(cert), "-days", "1", "-extfile", str(ext),
    )  # fmt: skip
    return cert, key


def make_certs(directory):
    """{"ca", "ca_key", "cert", "key" (the server's), "client_cert", "client_key"}: paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"ca": directory / "ca.pem", "ca_key": directory / "ca-key.pem"}
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(paths["ca_key"]), "-out", str(paths["ca"]), "-days", "1", "-subj", "/CN=store-test-ca",
    )  # fmt: skip
    paths["cert"], paths["key"] = _signed(
        directory,
        "server",
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth",
        paths,
    )
    paths["client_cert"], paths["client_key"] = _signed(
        directory, "client", "/CN=saltmaster", "extendedKeyUsage=clientAuth", paths
    )
    return paths
