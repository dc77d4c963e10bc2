"""TLS for tests: a private CA with a certificate for 127.0.0.1 (openssl), and a
TLS-terminating TCP proxy that puts an HTTPS endpoint in front of an emulator that
speaks plain HTTP on loopback (the sandbox's GitLab)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from pathlib import Path

from kasboot.sandbox.common import free_port


def make_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 signed by it (openssl)."""
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
        str(ca_cert), "-days", "2", "-subj", "/CN=kasboot test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca_cert, cert, key


class TlsProxy:
    """https://127.0.0.1:<port> → the plain-HTTP `upstream_port` on loopback.

    Counts the TCP connections it accepts and the TLS handshakes that completed, so a
    test can tell "refused at the handshake, once" from "retried"."""

    def __init__(self, upstream_port: int, cert: Path, key: Path) -> None:
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.connections = 0
        self.handshakes = 0
        self._upstream = upstream_port
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(str(cert), str(key))
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(30)
        try:
            secure = self._context.wrap_socket(connection, server_side=True)
        except (ssl.SSLError, OSError):
            connection.close()
            return
        self.handshakes += 1
        secure.settimeout(None)
        try:
            upstream = socket.create_connection(("127.0.0.1", self._upstream), timeout=10)
        except OSError:
            secure.close()
            return
        upstream.settimeout(None)
        back = threading.Thread(target=_pipe, args=(upstream, secure), daemon=True)
        back.start()
        _pipe(secure, upstream)
        back.join(timeout=30)

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=5)
        self._listener.close()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    """Copies until either side closes, then closes both (HTTP keep-alive ends there)."""
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)  # wakes the other direction's recv
            with contextlib.suppress(OSError):
                end.close()
