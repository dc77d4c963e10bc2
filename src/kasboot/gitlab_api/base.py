"""The python-gitlab client kasboot configures, and how its failures become GitLabError."""

from __future__ import annotations

import ipaddress
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kasboot import __version__
from kasboot.cluster_transport import Deadline
from kasboot.errors import GitLabError
from kasboot.gitlab_api.model import RequestLogger

if TYPE_CHECKING:
    import gitlab
    from gitlab.v4.objects import Project

USER_AGENT = f"kasboot/{__version__}"
LOG = logging.getLogger("kasboot.gitlab")


def message_of(error: Exception) -> str:
    message = getattr(error, "error_message", None) or str(error)
    if isinstance(message, dict):
        message = "; ".join(f"{key} {', '.join(map(str, value))}" for key, value in message.items())
    return str(message)


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_warning(url: str) -> str | None:
    """A warning when the token would cross the network in clear text."""
    if urlsplit(url).scheme == "http" and not is_loopback(url):
        host = urlsplit(url).hostname
        return (
            f"Warning: GitLab at {url} is plain http://: the token crosses the network to "
            f"{host} unencrypted — use https://"
        )
    return None


class Client:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        request_logger: RequestLogger | None = None,
        timeout: float | None = None,
        oauth: bool = False,
        ca_file: str | Path | None = None,
        token_source: str = "",
    ) -> None:
        import gitlab

        from kasboot.gitlab_api.retrying import GuardedSession

        self.url = url.rstrip("/")
        self.oauth = oauth
        self.token_source = token_source
        session = GuardedSession()
        if timeout:
            session.read_timeout = timeout
        session.headers["User-Agent"] = USER_AGENT
        if request_logger is not None:

            def log_response(response: Any, *args: Any, **kwargs: Any) -> None:
                request_logger(
                    response.request.method,
                    response.request.url,
                    response.status_code,
                    response.elapsed.total_seconds(),
                )

            session.hooks["response"].append(log_response)
        warning = plain_http_warning(self.url)
        if warning:
            LOG.warning(warning)
        verify: bool | str = str(ca_file) if ca_file else True
        session.verify = verify
        # GitLab accepts an OAuth token only as `Authorization: Bearer`, a PAT as
        # PRIVATE-TOKEN; keep_base_url: GitLab writes pagination links with its own
        # external URL, which a port-forward or an internal name does not reach.
        auth: dict[str, str] = {"oauth_token": token} if oauth else {"private_token": token}
        self._session = session
        self._gl: gitlab.Gitlab = gitlab.Gitlab(
            self.url,
            session=session,
            timeout=session.read_timeout,
            # every retry is the session's (jitter, Retry-After, the run's deadline)
            retry_transient_errors=False,
            keep_base_url=True,
            ssl_verify=verify,
            user_agent=USER_AGENT,
            **auth,  # type: ignore[arg-type]
        )
        self._projects: dict[str, Project] = {}
        # One run reads a file at most once (pre-flight and the steps share reads); a
        # commit empties the cache.
        self._files: dict[tuple[str, str, str], Any] = {}
        # Tokens this run minted but whose secret never arrived (revoked at once).
        self.revoked_orphans: list[int] = []

    @property
    def session_timeout(self) -> float:
        return float(self._gl.timeout or 0)

    def bound_run(self, deadline: Deadline, seconds: float) -> None:
        """Bound GitLab's part of the run by the run's deadline (--timeout, shared with
        the cluster seam): no retry waits, and no request is sent, past it."""
        self._session.deadline = deadline
        self._session.timeout_label = f"--timeout ({seconds:g}s)"

    # -- error translation -------------------------------------------------

    def _refused_token_hint(self) -> str:
        if self.oauth and "glab" in self.token_source:
            return "glab's OAuth token has expired or was revoked: run `glab auth login` again"
        if self.oauth:
            return "the OAuth token has expired or was revoked: get a new one"
        return "set GITLAB_TOKEN to a valid personal access token with the 'api' scope"

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        import gitlab
        import requests

        from kasboot.gitlab_api.failures import Unreachable, describe

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield
            for warned in caught:  # python-gitlab's UserWarnings: never raw on stderr
                LOG.debug("python-gitlab: %s", warned.message)
        except gitlab.exceptions.GitlabAuthenticationError as error:
            raise GitLabError(
                f"GitLab refused the token while {doing}: {message_of(error)}",
                hint=self._refused_token_hint(),
                status=401,
            ) from error
        except gitlab.exceptions.GitlabError as error:
            status = error.response_code
            hint = None
            if status == 403:
                hint = "the token needs the 'api' scope and the Maintainer role on the project"
            raise GitLabError(
                f"GitLab said {status} while {doing}: {message_of(error)}",
                hint=hint,
                status=status,
            ) from error
        except Unreachable as error:
            if "gave up after" not in error.cause:
                raise GitLabError(
                    f"cannot reach GitLab at {self.url} while {doing}: {error.cause}",
                    hint=_transport_hint(error),
                ) from error
            raise GitLabError(
                f"GitLab at {self.url} kept failing while {doing}: {error.cause}",
                hint="GitLab (or the network to it) is failing: run the same command again "
                "later (it finishes the job), or raise --timeout",
            ) from error
        except requests.exceptions.RequestException as error:
            raise GitLabError(
                f"cannot reach GitLab at {self.url} while {doing}: "
                f"{describe(error, self.session_timeout)}",
                hint=_transport_hint(error),
            ) from error

    def _project(self, path: str) -> Project:
        if path not in self._projects:
            with self._errors(f"reading project {path}"):
                self._projects[path] = self._gl.projects.get(path)
        return self._projects[path]


def _transport_hint(error: BaseException) -> str:
    from kasboot.gitlab_api.failures import describe

    cause = describe(error)
    if cause.startswith("certificate verify failed"):
        return (
            "trust GitLab's CA with --ca-file PEM (or SSL_CERT_FILE / REQUESTS_CA_BUNDLE, "
            "glab's ca_cert, python-gitlab's ssl_verify)"
        )
    if cause.startswith("the server answered plain HTTP"):
        return "set GITLAB_HOST to the http:// URL, or the port GitLab serves TLS on"
    if cause == "connection refused":
        return (
            "nothing listens there: check the scheme, host and port of GITLAB_HOST (or the "
            "-R URL); without a scheme https:// is assumed"
        )
    if cause.startswith("DNS:"):
        return "check the host name in GITLAB_HOST (or the -R URL) for a typo, and your DNS"
    return "check GITLAB_HOST and your network"
