#!/usr/bin/env bash
# A real cluster with Flux for kasboot's e2e journeys, in one command:
#
#   eval "$(e2e/kind-flux.sh)"        # kind cluster + `flux bootstrap gitlab`, then
#                                     # KASBOOT_E2E_* exported into this shell
#   e2e/kind-flux.sh --down           # delete the cluster and the deploy token/key
#                                     # `flux bootstrap` created in the project
#
# Prerequisites: docker (running), kind, flux (the CLI), curl, python3 (JSON parsing),
# and a GitLab personal access token with scope `api` and the Maintainer role on the
# project (Owner of the namespace if flux is to create the project), in GITLAB_TOKEN.
#
# Settings (environment):
#   GITLAB_TOKEN              required; never written to disk or passed in argv
#   KASBOOT_E2E_PROJECT       required: group/project, a scratch project for the e2e
#                             runs (flux creates it when it does not exist)
#   KASBOOT_E2E_GITLAB_HOST   default https://gitlab.com
#   KASBOOT_E2E_PERSONAL      true when the project's namespace is a user, not a group
#   KASBOOT_E2E_BRANCH        default main
#   KASBOOT_E2E_FLUX_PATH     default clusters/kasboot-e2e
#   KASBOOT_E2E_CLUSTER       kind cluster name, default kasboot-e2e
#   KASBOOT_E2E_API_HOST      the name the Kubernetes API is reached at when it is not
#                             this machine (CI with docker-in-docker: `docker`)
#   KASBOOT_E2E_STATE         where kubeconfig and e2e.env go
#                             (default ${XDG_CACHE_HOME:-$HOME/.cache}/kasboot-e2e)
#
# Progress goes to stderr; stdout carries only the export lines (also in $STATE/e2e.env).
set -euo pipefail

die() {
  printf 'kind-flux.sh: %s\n' "$*" >&2
  exit 2
}
say() { printf '==> %s\n' "$*" >&2; }

DOWN=false
case "${1:-}" in
  --down) DOWN=true ;;
  "") ;;
  -h | --help)
    sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument '$1' (use --down or --help)" ;;
esac

HOST="${KASBOOT_E2E_GITLAB_HOST:-https://gitlab.com}"
HOST="${HOST%/}"
PROJECT="${KASBOOT_E2E_PROJECT:-}"
BRANCH="${KASBOOT_E2E_BRANCH:-main}"
FLUX_PATH="${KASBOOT_E2E_FLUX_PATH:-clusters/kasboot-e2e}"
FLUX_PATH="${FLUX_PATH#./}"
CLUSTER="${KASBOOT_E2E_CLUSTER:-kasboot-e2e}"
API_HOST="${KASBOOT_E2E_API_HOST:-}"
STATE="${KASBOOT_E2E_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/kasboot-e2e}"
KUBECONFIG_FILE="$STATE/kubeconfig"

[[ -n "${GITLAB_TOKEN:-}" ]] || die "GITLAB_TOKEN is unset: a personal access token with scope api, Maintainer on the project"
[[ "$PROJECT" == */* ]] || die "KASBOOT_E2E_PROJECT must be group/project (got '${PROJECT}')"
for tool in kind curl python3; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH (see the prerequisites: $0 --help)"
done
if [[ "$DOWN" == false ]]; then
  for tool in docker flux; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH (see the prerequisites: $0 --help)"
  done
fi
mkdir -p "$STATE"
chmod 700 "$STATE"

OWNER="${PROJECT%/*}"
REPOSITORY="${PROJECT##*/}"
PROJECT_ID="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PROJECT")"
API="$HOST/api/v4/projects/$PROJECT_ID"

# curl reads the token from a header file (mode 600, removed on exit), not from argv.
HEADERS="$(mktemp "$STATE/headers.XXXXXX")"
trap 'rm -f "$HEADERS"' EXIT
printf 'PRIVATE-TOKEN: %s\n' "$GITLAB_TOKEN" >"$HEADERS"

gitlab() { # METHOD PATH -> the answer's body on stdout
  curl --silent --show-error --fail --header "@$HEADERS" --request "$1" "$API$2"
}

# `flux bootstrap` names its deploy token and deploy key
# <namespace>-<branch>-<secret>-<path> (flux2 pkg/bootstrap deployTokenName/deployKeyName).
FLUX_CREDENTIAL="flux-system-$BRANCH-flux-system-"

ids_named() { # FIELD: ids of the JSON list on stdin whose FIELD is flux's name for our path
  python3 -c '
import json, sys
field, prefix, path = sys.argv[1:4]
for item in json.load(sys.stdin):
    name = str(item.get(field) or "")
    if name in (prefix + path, prefix + "./" + path):
        print(item["id"])
' "$1" "$FLUX_CREDENTIAL" "$FLUX_PATH"
}

down() {
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    say "deleting kind cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER"
  else
    say "no kind cluster $CLUSTER"
  fi
  local id
  for id in $(gitlab GET "/deploy_tokens?per_page=100" | ids_named name); do
    say "revoking deploy token $id of $PROJECT"
    gitlab DELETE "/deploy_tokens/$id" >/dev/null
  done
  for id in $(gitlab GET "/deploy_keys?per_page=100" | ids_named title); do
    say "removing deploy key $id from $PROJECT"
    gitlab DELETE "/deploy_keys/$id" >/dev/null
  done
  rm -f "$KUBECONFIG_FILE" "$STATE/e2e.env" "$STATE/kind.yaml"
  say "done (the project $PROJECT and its commits are left as they are)"
}

kind_config() {
  printf 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n'
  if [[ -n "$API_HOST" ]]; then
    # Reached from another container (docker-in-docker): listen on every address and
    # put the name into the API server's certificate.
    printf 'networking:\n  apiServerAddress: "0.0.0.0"\n'
    printf 'kubeadmConfigPatches:\n  - |\n    kind: ClusterConfiguration\n    apiServer:\n      certSANs: ["%s"]\n' "$API_HOST"
  fi
}

up() {
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    say "kind cluster $CLUSTER exists; reusing it"
    kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG_FILE"
  else
    kind_config >"$STATE/kind.yaml"
    say "creating kind cluster $CLUSTER"
    kind create cluster --name "$CLUSTER" --config "$STATE/kind.yaml" \
      --kubeconfig "$KUBECONFIG_FILE" --wait 180s >&2
  fi
  chmod 600 "$KUBECONFIG_FILE"
  if [[ -n "$API_HOST" ]]; then
    sed -E "s#server: https://(0\.0\.0\.0|127\.0\.0\.1|localhost):#server: https://$API_HOST:#" \
      "$KUBECONFIG_FILE" >"$KUBECONFIG_FILE.new"
    mv "$KUBECONFIG_FILE.new" "$KUBECONFIG_FILE"
  fi
  say "checking the cluster for Flux"
  flux check --pre --kubeconfig "$KUBECONFIG_FILE" >&2

  # flux takes gitlab.com bare and prefixes https:// to any other host without a scheme.
  local hostname="${HOST#https://}"
  [[ "$hostname" == "gitlab.com" ]] || hostname="$HOST"
  local personal=()
  [[ "${KASBOOT_E2E_PERSONAL:-false}" == true ]] && personal=(--personal)
  say "flux bootstrap gitlab $PROJECT --path $FLUX_PATH"
  # GITLAB_TOKEN reaches flux through the environment only.
  flux bootstrap gitlab --kubeconfig "$KUBECONFIG_FILE" --hostname "$hostname" \
    --owner "$OWNER" --repository "$REPOSITORY" --branch "$BRANCH" \
    --path "$FLUX_PATH" --deploy-token-auth "${personal[@]}" >&2

  # The token itself is never written: the line refers to GITLAB_TOKEN of the shell
  # that sources it.
  {
    printf 'export KASBOOT_E2E_GITLAB_HOST=%q\n' "$HOST"
    # shellcheck disable=SC2016
    printf 'export KASBOOT_E2E_GITLAB_TOKEN="${GITLAB_TOKEN}"\n'
    printf 'export KASBOOT_E2E_PROJECT=%q\n' "$PROJECT"
    printf 'export KASBOOT_E2E_KUBECONFIG=%q\n' "$KUBECONFIG_FILE"
    printf 'export KASBOOT_E2E_FLUX_PATH=%q\n' "$FLUX_PATH"
  } >"$STATE/e2e.env"
  cat "$STATE/e2e.env"
  say "ready: source $STATE/e2e.env, then .venv/bin/python -m pytest -q e2e"
}

if [[ "$DOWN" == true ]]; then down; else up; fi
