"""The GitLab seam over real sockets: pagination links to GitLab's own host, TLS with a
private CA, failures named in words after one attempt, OAuth tokens, tokens that cannot
be sent. Emulators run in-process; kasboot runs as a subprocess or through its seam."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import gitlab
import httpx
import pytest

from kasboot.gitlab_api import GitLabAPI
from kasboot.sandbox.common import free_port
from kasboot.sandbox.gitlab import GitLabEmulator
from tests.integration.bootstrap_helpers import seeded
from tests.integration.tls_helpers import make_ca

pytestmark = pytest.mark.sandbox
DEAD_KUBECONFIG = (
    "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
    "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
    "users: [{name: u, user: {token: t}}]\n"
    "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
)


def kasboot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """kasboot in a clean environment: no credentials but those given."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(DEAD_KUBECONFIG)
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[GitLabEmulator]:
    running = GitLabEmulator(tmp_path / "gitlab").start()
    yield running
    running.stop()


# -- item 5: links written with GitLab's external URL ------------------------------


def test_pagination_follows_links_to_gitlab_own_host_through_the_address_used(
    tmp_path: Path,
) -> None:
    external = "https://gitlab.internal.invalid"
    emulator = GitLabEmulator(tmp_path / "gitlab", external_url=external).start()
    try:
        token = seeded(emulator)
        project = emulator.backend.project_by_path("demo/fleet")
        assert project is not None
        for index in range(105):
            emulator.backend.store.execute(
                "INSERT INTO agents (project_id, name, created_at) VALUES (?, ?, '2024')",
                (project["id"], f"agent-{index:03d}"),
            )
        answer = httpx.get(
            f"{emulator.url}/api/v4/projects/demo%2Ffleet/cluster_agents?per_page=100",
            headers={"PRIVATE-TOKEN": token},
        )
        assert answer.headers["link"].startswith(f"<{external}/api/v4/projects/")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            names = [a["name"] for a in GitLabAPI(emulator.url, token).list_agents("demo/fleet")]
        assert len(names) == 105
        assert not [w for w in caught if issubclass(w.category, UserWarning)]
    finally:
        emulator.stop()


# -- item 6: before 16.0 the token list includes revoked tokens ----------------------


def test_only_active_tokens_count_on_gitlab_15(tmp_path: Path) -> None:
    emulator = GitLabEmulator(tmp_path / "gitlab", gitlab_version="15.11.0").start()
    try:
        token = seeded(emulator)
        api = GitLabAPI(emulator.url, token)
        agent = api.register_agent("demo/fleet", "old")
        first = api.create_token("demo/fleet", int(agent["id"]), "one", "")
        second = api.create_token("demo/fleet", int(agent["id"]), "two", "")
        api.revoke_token("demo/fleet", int(agent["id"]), first.id)
        api.revoke_token("demo/fleet", int(agent["id"]), first.id)  # again: done
        raw = gitlab.Gitlab(emulator.url, private_token=token).http_list(
            f"/projects/1/cluster_agents/{agent['id']}/tokens", get_all=True
        )
        assert len(raw) == 2  # GitLab 15 lists the revoked one
        active = api.active_tokens("demo/fleet", int(agent["id"]))
        assert [int(t["id"]) for t in active] == [second.id]
    finally:
        emulator.stop()


# -- item 2: OAuth tokens --------------------------------------------------------------


def write_glab_config(home: Path, url: str, token: str) -> None:
    config = home / ".config" / "glab-cli"
    config.mkdir(parents=True, exist_ok=True)
    host = url.split("://", 1)[1]
    (config / "config.yml").write_text(
        f"host: {host}\nhosts:\n  {host}:\n    token: {token}\n    api_protocol: http\n"
        f'    api_host: {host}\n    is_oauth2: "true"\n    oauth2_refresh_token: r\n'
    )


def oauth_token(emulator: GitLabEmulator, expires: datetime) -> str:
    stamp = expires.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    minted = httpx.post(f"{emulator.url}/-/sandbox/oauth_tokens", json={"expires_at": stamp})
    return str(minted.json()["access_token"])


def test_glab_oauth_token_goes_as_bearer(tmp_path: Path, emulator: GitLabEmulator) -> None:
    seeded(emulator)
    fresh = oauth_token(emulator, datetime.now(timezone.utc) + timedelta(hours=2))
    write_glab_config(tmp_path, emulator.url, fresh)
    result = kasboot(tmp_path, "render", "oauth-agent", "-R", "demo/fleet")
    assert result.returncode == 0, result.stderr
    assert "kasAddress" in result.stdout


def test_expired_glab_oauth_token_says_glab_auth_login(
    tmp_path: Path, emulator: GitLabEmulator
) -> None:
    seeded(emulator)
    stale = oauth_token(emulator, datetime(2000, 1, 1, tzinfo=timezone.utc))
    write_glab_config(tmp_path, emulator.url, stale)
    result = kasboot(tmp_path, "bootstrap", "oauth-agent", "-R", "demo/fleet")
    assert result.returncode == 4, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "run `glab auth login` again" in errors[0], result.stderr
    assert "Traceback" not in result.stderr


# -- item 15: a token no header can carry --------------------------------------------


@pytest.mark.parametrize("token", ["glpat-abc\ndef", "glpat-äbc", "glpat abc"])
def test_token_that_cannot_be_a_header_is_exit_2(
    tmp_path: Path, emulator: GitLabEmulator, token: str
) -> None:
    result = kasboot(
        tmp_path,
        "bootstrap",
        "agent",
        "-R",
        "demo/fleet",
        GITLAB_HOST=emulator.url,
        GITLAB_TOKEN=token,
    )
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "HTTP header" in result.stderr
    assert token not in result.stderr
    assert emulator.request_log.records() == []


# -- items 9 and 11: unreachable GitLab, in words, after one attempt -----------------


class CountingServer:
    """Accepts TCP connections on loopback, counts them, and answers each with what
    ``reply`` makes of the socket (plain HTTP text, or a TLS handshake)."""

    def __init__(self, reply: Any) -> None:
        self.port = free_port()
        self.connections = 0
        self._socket = socket.create_server(("127.0.0.1", self.port))
        self._reply = reply
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._socket.settimeout(0.2)
        while not self._stop:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self.connections += 1
            try:
                self._reply(connection)
            except OSError:
                pass
            finally:
                connection.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        self._socket.close()


def plain_http(connection: socket.socket) -> None:
    connection.settimeout(2)
    connection.recv(4096)
    connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def test_connection_refused_is_one_line_exit_4(tmp_path: Path) -> None:
    port = free_port()  # nobody listens
    result = kasboot(
        tmp_path,
        "bootstrap",
        "agent",
        "-R",
        "demo/fleet",
        GITLAB_HOST=f"http://127.0.0.1:{port}",
        GITLAB_TOKEN="glpat-x",
    )
    assert result.returncode == 4, result.stderr
    assert "connection refused" in result.stderr
    assert "Traceback" not in result.stderr


def test_plain_http_answer_to_tls_is_named_after_one_attempt(tmp_path: Path) -> None:
    server = CountingServer(plain_http)
    try:
        result = kasboot(
            tmp_path,
            "bootstrap",
            "agent",
            "-R",
            "demo/fleet",
            GITLAB_HOST=f"https://127.0.0.1:{server.port}",
            GITLAB_TOKEN="glpat-x",
        )
    finally:
        server.close()
    assert result.returncode == 4, result.stderr
    assert "server answered plain HTTP" in result.stderr
    # One attempt of each of pre-flight's first reads, which go out together (the survey
    # and the token check): none is retried.
    assert 1 <= server.connections <= 2


def test_dns_failure_and_plain_http_warning(tmp_path: Path) -> None:
    result = kasboot(
        tmp_path,
        "bootstrap",
        "agent",
        "-R",
        "demo/fleet",
        GITLAB_HOST="http://gitlab.kasboot-test.invalid",
        GITLAB_TOKEN="glpat-x",
    )
    assert result.returncode == 4, result.stderr
    assert "DNS" in result.stderr
    assert "plain http://" in result.stderr  # the token would cross the network in clear
    assert "UserWarning" not in result.stderr


@pytest.fixture
def tls_gitlab(tmp_path: Path) -> Iterator[tuple[GitLabEmulator, str, Path, int]]:
    """The GitLab emulator served over TLS with a certificate from a private CA."""
    import uvicorn

    ca_cert, cert, key = make_ca(tmp_path)
    emulator = GitLabEmulator(tmp_path / "gitlab")
    token = seeded(emulator)
    port = free_port()
    config = uvicorn.Config(
        emulator.app,
        host="127.0.0.1",
        port=port,
        log_level="critical",
        lifespan="off",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # only bounds a hang
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    emulator.backend.base_url = f"https://127.0.0.1:{port}"
    yield emulator, token, ca_cert, port
    server.should_exit = True
    thread.join(timeout=5)
    emulator.backend.store.close()


def test_private_ca_untrusted_is_named_after_one_handshake(
    tmp_path: Path, tls_gitlab: tuple[GitLabEmulator, str, Path, int]
) -> None:
    emulator, token, _, port = tls_gitlab
    result = kasboot(
        tmp_path,
        "bootstrap",
        "agent",
        "-R",
        "demo/fleet",
        GITLAB_HOST=f"https://127.0.0.1:{port}",
        GITLAB_TOKEN=token,
    )
    assert result.returncode == 4, result.stderr
    assert "certificate verify failed" in result.stderr
    assert "--ca-file" in result.stderr
    assert emulator.request_log.records() == []


@pytest.mark.parametrize("how", ["--ca-file", "SSL_CERT_FILE", "glab", "python-gitlab"])
def test_private_ca_trusted_four_ways(
    tmp_path: Path, tls_gitlab: tuple[GitLabEmulator, str, Path, int], how: str
) -> None:
    emulator, token, ca_cert, port = tls_gitlab
    url = f"https://127.0.0.1:{port}"
    args = ["render", "tls-agent", "-R", "demo/fleet"]
    env = {"GITLAB_HOST": url}
    if how == "--ca-file":
        args += ["--ca-file", str(ca_cert)]
        env["GITLAB_TOKEN"] = token
    elif how == "SSL_CERT_FILE":
        env.update(SSL_CERT_FILE=str(ca_cert), GITLAB_TOKEN=token)
    elif how == "glab":
        config = tmp_path / ".config" / "glab-cli"
        config.mkdir(parents=True)
        host = f"127.0.0.1:{port}"
        (config / "config.yml").write_text(
            f"hosts:\n  {host}:\n    token: {token}\n    ca_cert: {ca_cert}\n"
        )
    else:
        (tmp_path / ".python-gitlab.cfg").write_text(
            f"[global]\ndefault = t\n[t]\nurl = {url}\nprivate_token = {token}\n"
            f"ssl_verify = {ca_cert}\n"
        )
    result = kasboot(tmp_path, *args, **env)
    assert result.returncode == 0, result.stderr
    assert json.dumps("kasAddress")[1:-1] in result.stdout
    assert any(r.path == "/api/v4/metadata" for r in emulator.request_log.records())


# -- item 8: a hung GitLab is not waited on eleven times -----------------------------


def test_a_hung_read_is_tried_twice_then_exit_4(tmp_path: Path, emulator: GitLabEmulator) -> None:
    token = seeded(emulator)
    emulator.faults.replace(
        [
            {
                "path": "^/api/graphql$",  # pre-flight's first read: the survey
                "method": "GET",
                "mode": "applied_timeout",
                "hold_ms": 2500,
            }
        ]
    )
    result = kasboot(
        tmp_path,
        "bootstrap",
        "agent",
        "-R",
        "demo/fleet",
        GITLAB_HOST=emulator.url,
        GITLAB_TOKEN=token,
        KASBOOT_GITLAB_TIMEOUT="1",
    )
    assert result.returncode == 4, result.stderr
    assert "no answer within 1 s" in result.stderr
    assert "Traceback" not in result.stderr

    def attempts() -> int:
        return sum(1 for r in emulator.request_log.records() if r.path == "/api/graphql")

    for _ in range(600):  # the emulator logs a held request when it lets it go
        if attempts() >= 2:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    assert attempts() == 2  # python-gitlab alone would send it 11 times


# -- item 9: the tree lists symlinks and submodules, which are not files ---------------


def test_tree_leaves_out_symlinks_and_submodules(emulator: GitLabEmulator) -> None:
    from kasboot.sandbox.gitlab.gitrepo import IndexChange, Signature

    token = seeded(emulator)
    project = emulator.backend.project_by_path("demo/fleet")
    assert project is not None
    repo = emulator.backend.repo(project)
    head = repo.resolve("main")
    someone = Signature("Someone", "someone@example.com")
    repo.commit_changes(
        branch="main",
        parent=head,
        changes=[
            IndexChange(path="clusters/real.yaml", content=b"kind: ConfigMap\n"),
            IndexChange(path="clusters/link.yaml", content=b"real.yaml", mode="120000"),
            IndexChange(path="vendor/lib", mode="160000", blob_id=head),
        ],
        message="links",
        author=someone,
        committer=someone,
        expected_old=head,
    )
    raw = gitlab.Gitlab(emulator.url, private_token=token).projects.get("demo/fleet")
    modes = {e["path"]: e["mode"] for e in raw.repository_tree(recursive=True, get_all=True)}
    assert modes["clusters/link.yaml"] == "120000" and modes["vendor/lib"] == "160000"
    files = GitLabAPI(emulator.url, token).tree("demo/fleet", "main")
    assert "clusters/real.yaml" in files
    assert "clusters/link.yaml" not in files and "vendor/lib" not in files


def test_doctor_reports_an_oauth_token_scopes_as_unknown(
    tmp_path: Path, emulator: GitLabEmulator
) -> None:
    seeded(emulator)
    fresh = oauth_token(emulator, datetime.now(timezone.utc) + timedelta(hours=2))
    write_glab_config(tmp_path, emulator.url, fresh)
    result = kasboot(tmp_path, "doctor", "-R", "demo/fleet")
    token_line = next(line for line in result.stdout.splitlines() if "Token" in line)
    assert "scopes are unknown" in token_line, result.stdout
    assert not token_line.lstrip().startswith("✖")


def test_doctor_warns_on_a_low_role_it_cannot_prove(
    tmp_path: Path, emulator: GitLabEmulator
) -> None:
    """GitLab's permissions miss group shares and admin rights: a low role is a warning."""
    seeded(emulator)
    backend = emulator.backend
    backend.ensure_user("dev", "Dee Veloper", "dev@example.com")
    project = backend.project_by_path("demo/fleet")
    assert project is not None
    backend.add_member(project, "dev", 30)
    repo = backend.repo(project)
    repo.create_branch("work", str(repo.resolve("main")))  # unprotected: Developers push
    token = backend.create_personal_access_token("dev", "dev", ["api"])
    result = kasboot(
        tmp_path,
        "doctor",
        "-R",
        "demo/fleet",
        "--manifest-branch",
        "work",
        GITLAB_HOST=emulator.url,
        GITLAB_TOKEN=token,
    )
    project_line = next(line for line in result.stdout.splitlines() if "Project" in line)
    assert "Developer" in project_line, result.stdout
    assert not project_line.lstrip().startswith("✖"), result.stdout
