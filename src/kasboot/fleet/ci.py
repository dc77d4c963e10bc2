"""`kasboot fleet ci`: the fleet as a GitLab CI pipeline. GitLab CI is the distributed
engine: one `parallel:matrix` job per project and branch the clusters commit to, one
matrix entry per cluster, and a `resource_group` per project and branch so that two
clusters' commits never race. Each job runs `kasboot fleet apply FLEET --only CLUSTER
--output json` and keeps the JSON report as an artifact.

The same job ships as a CI/CD component (``templates/fleet.yml`` at the top of this
repository, `spec:inputs` for the fleet file, the cluster list, the stage, the image,
the resource group): `--component PATH@VERSION` writes a pipeline that includes it.
"""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

from kasboot import __version__
from kasboot.fleet.spec import FleetSpec

MATRIX_LIMIT = 200  # GitLab refuses a parallel:matrix of more than 200 jobs
JOB_PREFIX = "kasboot-fleet"
REPORTS = "kasboot-fleet-reports"
HEADER = """\
# Written by `kasboot fleet ci {fleet}` (kasboot {version}); regenerate it after editing
# the fleet file. Needs these CI/CD variables (Settings > CI/CD > Variables):
#   GITLAB_TOKEN  masked, protected: a token with the api scope, Maintainer of the
#                 projects the fleet commits to (a CI job token cannot register agents)
#   KUBECONFIG    a *file* variable holding the contexts the fleet file names
# The jobs run on the web UI, on a schedule or by API (never on a plain push), one
# job per cluster; the clusters of one project and branch take turns (resource_group).
"""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "default"


def _jobs(fleet: FleetSpec) -> list[tuple[str, str, list[str]]]:
    """(job name, resource group, cluster names) per project and branch, a job per 200
    clusters (the matrix limit); jobs of one project and branch share the group."""
    groups: dict[str, list[str]] = {}
    for cluster in fleet.clusters:
        groups.setdefault(cluster.lock_key, []).append(cluster.name)
    jobs = []
    for lock_key, names in groups.items():
        slug = _slug(lock_key)
        chunks = [names[i : i + MATRIX_LIMIT] for i in range(0, len(names), MATRIX_LIMIT)]
        for number, chunk in enumerate(chunks, start=1):
            suffix = f" {number}" if len(chunks) > 1 else ""
            jobs.append((f"{JOB_PREFIX} {slug}{suffix}", f"{JOB_PREFIX}-{slug}", chunk))
    return jobs


def _job_script(fleet_file: str) -> dict[str, Any]:
    report = f"{REPORTS}/$KASBOOT_FLEET_CLUSTER.json"
    return {
        "before_script": ['pip install --quiet "kasboot==$KASBOOT_VERSION"', f"mkdir -p {REPORTS}"],
        "script": [
            f'kasboot fleet apply "{fleet_file}" --only "$KASBOOT_FLEET_CLUSTER" '
            f'--output json > "{report}"'
        ],
        "artifacts": {"when": "always", "paths": [f"{REPORTS}/"], "expire_in": "30 days"},
        "rules": [
            {"if": '$CI_PIPELINE_SOURCE == "web"'},
            {"if": '$CI_PIPELINE_SOURCE == "schedule"'},
            {"if": '$CI_PIPELINE_SOURCE == "api"'},
        ],
    }


def pipeline(fleet: FleetSpec, fleet_file: str, *, stage: str, image: str) -> dict[str, Any]:
    """The pipeline as data (ordered as it is written)."""
    document: dict[str, Any] = {
        "stages": [stage],
        "variables": {"KASBOOT_VERSION": __version__, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        f".{JOB_PREFIX}": {"stage": stage, "image": image, **_job_script(fleet_file)},
    }
    for job, group, names in _jobs(fleet):
        document[job] = {
            "extends": f".{JOB_PREFIX}",
            "resource_group": group,
            "parallel": {"matrix": [{"KASBOOT_FLEET_CLUSTER": names}]},
        }
    return document


def component_pipeline(
    fleet: FleetSpec, fleet_file: str, component: str, *, stage: str
) -> dict[str, Any]:
    """A pipeline that includes the component, once per project and branch."""
    includes = [
        {
            "component": component,
            "inputs": {
                "fleet-file": fleet_file,
                "clusters": names,
                "stage": stage,
                "job-name": job,
                "resource-group": group,
                "kasboot-version": __version__,
            },
        }
        for job, group, names in _jobs(fleet)
    ]
    return {"stages": [stage], "include": includes}


def dump(document: dict[str, Any], fleet_file: str) -> str:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # one script line stays one line
    stream = StringIO()
    yaml.dump(document, stream)
    return HEADER.format(fleet=fleet_file, version=__version__) + stream.getvalue()
