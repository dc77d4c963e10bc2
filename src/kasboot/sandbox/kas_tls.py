"""The sandbox's KAS stand-in over TLS with a private CA, as a KAS behind a self-signed
certificate is (the guides' "KAS behind a self-signed certificate": the chart's
``config.kasCaCert``, kasboot's ``--kas-ca-cert``).

Set ``KASBOOT_SANDBOX_KAS_TLS=1`` for ``kasboot sandbox up``: the world makes a CA and a
certificate for 127.0.0.1 (openssl), serves ``wss://127.0.0.1:<port>/-/kubernetes-agent/``
through a TLS-terminating proxy in front of the GitLab emulator (which answers KAS's
``agent_info``), reports that URL as ``kas.externalUrl`` in ``/metadata``, and writes the
CA to ``<sandbox dir>/kas-ca.pem``. The simulated agentk then reaches KAS only when the
HelmRelease's values carry that CA (``config.kasCaCert``)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from pathlib import Path

from kasboot.sandbox.common import free_port

KAS_TLS_VARIABLE = "KASBOOT_SANDBOX_KAS_TLS"
CA_FILE = "kas-ca.pem"


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key), made once and kept."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "kas-ca.key", directory / CA_FILE
    key, cert = directory / "kas-server.key", directory / "kas-server.pem"
    if ca_cert.exists() and cert.exists() and key.exists():
        return ca_cert, cert, key
    csr, ext = directory / "kas-server.csr", directory / "kas-ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
            "-out", str(ca_cert), "-days", "30", "-subj", "/CN=kasboot sandbox KAS CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", "/CN=127.0.0.1")  # fmt: skip
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "30", "-extfile", str(ext))  # fmt: skip
    return ca_cert, cert, key


class KasTlsFront:
    """https://127.0.0.1:<port> → the GitLab emulator's plain-HTTP port on loopback."""

    def __init__(self, upstream_port: int, cert: Path, key: Path) -> None:
        self.port = free_port()
        self._upstream = upstream_port
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(str(cert), str(key))
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="kas-tls", daemon=True)
        self._thread.start()

    @property
    def kas_address(self) -> str:
        return f"wss://127.0.0.1:{self.port}/-/kubernetes-agent/"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(30)
        try:
            secure = self._context.wrap_socket(connection, server_side=True)
        except (ssl.SSLError, OSError):  # e.g. a client that does not trust the CA
            connection.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self._upstream), timeout=10)
        except OSError:
            secure.close()
            return
        back = threading.Thread(target=_copy, args=(upstream, secure), daemon=True)
        back.start()
        _copy(secure, upstream)
        back.join(timeout=30)

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                end.close()
