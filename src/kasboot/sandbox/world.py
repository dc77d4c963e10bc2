"""The sandbox world: the GitLab emulator, the Kubernetes emulator and the Flux
simulator in one process, seeded once, with its state (and its ports, which are part
of URLs stored in that state) kept in one directory so it survives down/up.

    python -m kasboot.sandbox.world serve --dir DIR [--project G/P] [--flux-path P]
        [--no-kas] [--kas-version X.Y.Z|null] [--gitlab-version X.Y.Z]
        [--external-url URL] [--no-flux] [--fault-seed N] [--clusters N]

Files in DIR: ``world.json`` (pid, ports, seed), ``world.log``, ``kubeconfig``,
``sandbox.env``, and the emulators' state under ``gitlab/``, ``kube/``, ``flux/``.
With ``--clusters N`` the GitLab is shared by N clusters, each its own Kubernetes
emulator and Flux (``kube-sandbox-2/``, ``flux-sandbox-2/``, …), bootstrapped at
``./clusters/sandbox-2`` …, and reached through the contexts of the one kubeconfig."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import socket
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kasboot.sandbox.gitlab.versions import DEFAULT_GITLAB_VERSION
from kasboot.sandbox.kas_tls import KAS_TLS_VARIABLE, KasTlsFront, make_certificates

LOG = logging.getLogger("kasboot.sandbox.world")
STATE_FILE = "world.json"
LOG_FILE = "world.log"
ENV_FILE = "sandbox.env"
KUBECONFIG_FILE = "kubeconfig"
DEFAULT_DIR = ".kasboot-sandbox"
DEFAULT_PROJECT = "demo/fleet"
DEFAULT_FLUX_PATH = "./clusters/sandbox"
SANDBOX_USER = "root"
# "0.5" (every controller) or "kustomize-controller=0.5,helm-controller=2": seconds each
# controller waits before a reconcile, to rehearse waiting on a slow Flux.
LATENCY_VARIABLE = "KASBOOT_SANDBOX_FLUX_LATENCY"
# The Flux minor version whose kustomization-generator wording to reproduce: ≤ 8 appends
# " <nil>" to decode failures (the form seen in most clusters), 9 does not.
WORDING_VARIABLE = "KASBOOT_SANDBOX_FLUX_WORDING"


def flux_latency(value: str | None) -> float | dict[str, float]:
    if not value:
        return 0.0
    if "=" not in value:
        return float(value)
    latency = {}
    for part in value.split(","):
        name, _, seconds = part.partition("=")
        latency[name.strip()] = float(seconds)
    return latency


@dataclass
class WorldOptions:
    project: str = DEFAULT_PROJECT
    flux_version: str = ""  # "" = the newest Flux the simulator knows (a seed option)
    flux_receiver: bool = False  # a webhook Receiver annotating on every push
    flux_path: str = DEFAULT_FLUX_PATH
    kas_enabled: bool = True
    kas_version: str | None = None  # None: KAS runs GitLab's release; "null": unknown
    flux: bool = True
    gitlab_version: str = DEFAULT_GITLAB_VERSION
    external_url: str | None = None  # where GitLab believes it lives (its links)
    clusters: int = 1  # clusters sharing the GitLab: sandbox, sandbox-2, … (a seed option)
    receptive_agents: str = "offered"  # or "unlicensed" / "disabled" (url_configurations)
    # The fault draws' seed of both emulators (None: random, shown by GET
    # /-/sandbox/faults): the same rules and seed fault the same requests again.
    fault_seed: int | None = None


def cluster_names(count: int) -> list[str]:
    """The kube contexts of a world with ``count`` clusters; the first is the default."""
    return ["sandbox", *(f"sandbox-{number}" for number in range(2, count + 1))]


def extra_flux_path(name: str) -> str:
    """Where an extra cluster's Flux is bootstrapped: beside the first one's default."""
    return f"./clusters/{name}"


@dataclass
class WorldState:
    """``world.json``: what a later ``up``, ``down`` or ``status`` needs to know."""

    options: WorldOptions = field(default_factory=WorldOptions)
    gitlab_port: int = 0
    kube_port: int = 0
    extra_kube_ports: list[int] = field(default_factory=list)  # sandbox-2, sandbox-3, …
    token: str = ""
    seeded: bool = False
    pid: int | None = None
    ready: bool = False

    @property
    def gitlab_url(self) -> str:
        return f"http://127.0.0.1:{self.gitlab_port}"

    @property
    def kube_url(self) -> str:
        return f"http://127.0.0.1:{self.kube_port}"

    @classmethod
    def load(cls, directory: Path) -> WorldState | None:
        path = directory / STATE_FILE
        if not path.is_file():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        options = WorldOptions(**raw.pop("options", {}))
        return cls(options=options, **raw)

    def save(self, directory: Path) -> None:
        path = directory / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        temporary.chmod(0o600)  # holds the sandbox's token
        temporary.replace(path)


def env_exports(directory: Path, state: WorldState) -> dict[str, str]:
    return {
        "GITLAB_HOST": state.gitlab_url,
        "GITLAB_TOKEN": state.token,
        "KUBECONFIG": str((directory / KUBECONFIG_FILE).resolve()),
        "KASBOOT_PROJECT": state.options.project,
    }


def render_env(exports: dict[str, str]) -> str:
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in exports.items())


def parse_env(text: str) -> dict[str, str]:
    """The exports of `render_env` (what `sandbox up` prints), read back."""
    exports = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            exports[key] = shlex.split(value)[0] if value else ""
    return exports


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class World:
    """Starts, seeds and stops the three parts; ``run()`` serves until SIGTERM/SIGINT."""

    def __init__(self, directory: Path, options: WorldOptions) -> None:
        from kasboot.sandbox.common import free_port

        self.directory = directory.resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        previous = WorldState.load(self.directory)
        if previous is None:
            self.state = WorldState(
                options=options,
                gitlab_port=free_port(),
                kube_port=free_port(),
                extra_kube_ports=[free_port() for _ in range(options.clusters - 1)],
            )
        else:
            # The seed options of the first up stay; KAS can be switched on any up.
            previous.options.flux_receiver = options.flux_receiver  # so can the Receiver
            previous.options.kas_enabled = options.kas_enabled
            previous.options.kas_version = options.kas_version
            previous.options.gitlab_version = options.gitlab_version
            previous.options.external_url = options.external_url
            previous.options.fault_seed = options.fault_seed
            previous.options.receptive_agents = options.receptive_agents
            self.state = previous
        for port in (self.state.gitlab_port, self.state.kube_port, *self.state.extra_kube_ports):
            if not _port_free(port):
                raise RuntimeError(f"port {port} of this sandbox is in use by another process")
        self.gitlab: Any = None
        self.kube: Any = None
        self.kas_tls: Any = None  # KASBOOT_SANDBOX_KAS_TLS: KAS behind a private CA
        self.flux: Any = None
        self.extra: list[tuple[str, Any, Any]] = []  # (context, kube, flux) of sandbox-2…

    def start(self) -> None:
        from kasboot.sandbox.gitlab import GitLabEmulator
        from kasboot.sandbox.gitlab.url_configurations import set_receptive_agents
        from kasboot.sandbox.kube import KubeEmulator

        options = self.state.options
        self.gitlab = GitLabEmulator(
            self.directory / "gitlab",
            port=self.state.gitlab_port,
            kas_enabled=options.kas_enabled,
            kas_version=options.kas_version,
            gitlab_version=options.gitlab_version,
            external_url=options.external_url,
            fault_seed=options.fault_seed,
        ).start()
        self.kube = KubeEmulator(
            self.directory / "kube", port=self.state.kube_port, fault_seed=options.fault_seed
        ).start()
        self.gitlab.backend.set_kas(
            options.kas_enabled, options.kas_version or options.gitlab_version
        )
        set_receptive_agents(self.gitlab.backend, options.receptive_agents)
        if os.environ.get(KAS_TLS_VARIABLE):  # KAS behind a private CA (sandbox/kas_tls.py)
            ca_cert, cert, key = make_certificates(self.directory)
            self.kas_tls = KasTlsFront(self.state.gitlab_port, cert, key)
            self.gitlab.backend.set_kas(options.kas_enabled, external_url=self.kas_tls.kas_address)
            LOG.info("KAS over TLS at %s (CA: %s)", self.kas_tls.kas_address, ca_cert)
        if options.flux:
            self.flux = self._start_flux(self.kube.url, self.directory / "flux")
        for name, port in zip(
            cluster_names(options.clusters)[1:], self.state.extra_kube_ports, strict=True
        ):
            kube = KubeEmulator(
                self.directory / f"kube-{name}", port=port, fault_seed=options.fault_seed
            ).start()
            flux = (
                self._start_flux(kube.url, self.directory / f"flux-{name}")
                if options.flux
                else None
            )
            self.extra.append((name, kube, flux))
        if not self.state.seeded:
            self._seed()
        if self.flux is not None and options.flux_receiver:
            project = self.gitlab.backend.project_by_path(options.project)
            self.flux.start_receiver(
                self.gitlab.backend.repo(project).path, str(project["default_branch"] or "main")
            )
        self._write_kubeconfig()
        exports = env_exports(self.directory, self.state)
        env_path = self.directory / ENV_FILE
        env_path.write_text(render_env(exports), encoding="utf-8")
        env_path.chmod(0o600)
        self.state.pid = os.getpid()
        self.state.ready = True
        self.state.save(self.directory)
        LOG.info("sandbox ready: GitLab %s, Kubernetes %s", self.gitlab.url, self.kube.url)
        LOG.info(
            "fault seeds: GitLab %s, Kubernetes %s", self.gitlab.faults.seed, self.kube.faults.seed
        )

    def _start_flux(self, kube_url: str, directory: Path) -> Any:
        from kasboot.sandbox.flux import FluxSimulator

        return FluxSimulator(
            kube_url,
            directory,
            latency=flux_latency(os.environ.get(LATENCY_VARIABLE)),
            generator_flux_minor=int(os.environ.get(WORDING_VARIABLE, "2.8").split(".")[-1]),
        ).start()

    def _write_kubeconfig(self) -> None:
        """One kubeconfig with a context per cluster (current: ``sandbox``)."""
        import yaml

        path = self.directory / KUBECONFIG_FILE
        self.kube.write_kubeconfig(path)
        if not self.extra:
            return
        merged = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, kube, _ in self.extra:
            own = yaml.safe_load(
                kube.write_kubeconfig(
                    self.directory / f"kube-{name}" / KUBECONFIG_FILE, context=name
                ).read_text(encoding="utf-8")
            )
            for section in ("clusters", "users", "contexts"):
                merged[section].extend(own[section])
        path.write_text(yaml.safe_dump(merged, sort_keys=False), encoding="utf-8")
        path.chmod(0o600)

    def _seed(self) -> None:
        options = self.state.options
        backend = self.gitlab.backend
        backend.ensure_user(SANDBOX_USER, "Administrator", "admin@example.com")
        self.state.token = backend.create_personal_access_token(
            SANDBOX_USER, "kasboot-sandbox", ["api"]
        )
        project = backend.ensure_project(options.project, owner=SANDBOX_USER)
        if options.flux:
            branch = str(project.get("default_branch") or "main")
            self._bootstrap_flux(self.kube.url, branch, options.flux_path)
            for name, kube, _ in self.extra:
                self._bootstrap_flux(kube.url, branch, extra_flux_path(name))
        self.state.seeded = True
        self.state.save(self.directory)

    def _bootstrap_flux(self, kube_url: str, branch: str, flux_path: str) -> None:
        from kasboot.sandbox.flux import bootstrap
        from kasboot.sandbox.flux.kubeapi import KubeApi
        from kasboot.sandbox.kube import flux_crds

        repository_url = f"{self.gitlab.url}/{self.state.options.project}.git"
        from kasboot.sandbox.flux.versions import crds_for

        crds = crds_for(flux_crds(), self.state.options.flux_version)
        files = bootstrap.repository_files(crds, repository_url, branch, flux_path)
        bootstrap.push_files(repository_url, branch, "git", self.state.token, files)
        api = KubeApi(kube_url, bootstrap.BOOTSTRAP_USER_AGENT)
        try:
            bootstrap.install(
                api,
                crds,
                repository_url,
                branch,
                flux_path,
                "git",
                self.state.token,
            )
            verdict = bootstrap.wait_ready(api)
            LOG.info(
                "flux-system Kustomization: %s %s", verdict.get("reason"), verdict.get("message")
            )
        finally:
            api.close()

    def stop(self) -> None:
        extra = [part for _, kube, flux in self.extra for part in (flux, kube)]
        for part in (*extra, self.flux, self.kube, self.gitlab):
            if part is None:
                continue
            try:
                part.stop()
            except Exception:  # stopping must go on for the other parts
                LOG.exception("stopping %s failed", type(part).__name__)
        for kube in [self.kube, *(kube for _, kube, _ in self.extra)]:
            if kube is not None:
                kube.close()
        if self.kas_tls is not None:
            self.kas_tls.close()
        self.state.pid = None
        self.state.ready = False
        self.state.save(self.directory)

    def run(self) -> None:
        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        try:
            self.start()
            stop.wait()
        finally:
            self.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kasboot.sandbox.world")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the sandbox world until SIGTERM")
    serve.add_argument("--dir", default=DEFAULT_DIR)
    serve.add_argument("--project", default=DEFAULT_PROJECT)
    serve.add_argument("--flux-path", default=DEFAULT_FLUX_PATH)
    serve.add_argument("--no-kas", action="store_true")
    serve.add_argument("--kas-version", default=None)
    serve.add_argument("--gitlab-version", default=DEFAULT_GITLAB_VERSION)
    serve.add_argument("--external-url", default=None)
    serve.add_argument("--no-flux", action="store_true")
    serve.add_argument("--flux-version", default="")
    serve.add_argument("--flux-receiver", action="store_true")
    serve.add_argument("--clusters", type=int, default=1)
    serve.add_argument("--fault-seed", type=int, default=None)
    serve.add_argument(
        "--receptive-agents", choices=("offered", "unlicensed", "disabled"), default="offered"
    )
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> WorldOptions:
    return WorldOptions(
        project=args.project,
        flux_version=args.flux_version,
        flux_receiver=args.flux_receiver,
        flux_path=args.flux_path,
        kas_enabled=not args.no_kas,
        kas_version=args.kas_version,
        flux=not args.no_flux,
        gitlab_version=args.gitlab_version,
        external_url=args.external_url,
        clusters=args.clusters,
        fault_seed=args.fault_seed,
        receptive_agents=args.receptive_agents,
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    World(Path(args.dir), options_from(args)).run()


if __name__ == "__main__":
    main()
