"""The part of GitLab's GraphQL schema kasboot queries, in GitLab's own names and types.

Field and type names follow GitLab's published schema (``app/graphql/types/*``:
``project_type.rb``, ``clusters/agent_type.rb``, ``clusters/agent_token_type.rb``,
``environment_type.rb``, ``repository_type.rb``, ``tree/*``, ``metadata_type.rb``,
``metadata/kas_type.rb``, ``user_type.rb``) and its mutations
(``mutations/clusters/agents/create.rb``, ``mutations/clusters/agent_tokens/create.rb``,
``mutations/environments/create.rb``). Fields GitLab added later are only in the schema
of the releases that have them, so a query naming one fails validation on an older
release as it does on GitLab (``Field 'x' doesn't exist on type 'Y'``):

- ``Environment.clusterAgent``, ``kubernetesNamespace``, ``fluxResourcePath`` (and the
  same arguments of ``environmentCreate``): 16.4 (the dashboard's environment settings,
  merge requests 128857 and 130648);
- ``Kas.externalK8sProxyUrl``: 17.6, as in the REST metadata.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graphql import GraphQLSchema

    from kasboot.sandbox.gitlab.versions import Release

CONNECTION = """
type {name}Connection {{
  count: Int!
  nodes: [{name}]
  edges: [{name}Edge]
  pageInfo: PageInfo!
}}
type {name}Edge {{ cursor: String! node: {name} }}
"""
CONNECTIONS = (
    "ClusterAgent",
    "ClusterAgentToken",
    "Environment",
    "Blob",
    "TreeEntry",
    "RepositoryBlob",
)
PAGE_ARGS = "first: Int, after: String, last: Int, before: String"

BASE = """
scalar Time
scalar ClustersAgentID
scalar ClustersAgentTokenID
scalar ProjectID

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type Query {
  currentUser: CurrentUser
  metadata: Metadata
  project(fullPath: ID!): Project
}

type CurrentUser {
  id: ID!
  username: String!
  name: String!
  publicEmail: String
  commitEmail: String
}

type Metadata {
  version: String!
  revision: String!
  enterprise: Boolean!
  kas: Kas!
}

type Kas {
  enabled: Boolean!
  externalUrl: String
  version: String
  %(k8s_proxy)s
}

type ProjectPermissions {
  pushCode: Boolean!
  adminProject: Boolean!
  createDeployment: Boolean!
}

type Project {
  id: ID!
  fullPath: ID!
  name: String!
  path: String!
  webUrl: String
  httpUrlToRepo: String
  sshUrlToRepo: String
  userPermissions: ProjectPermissions!
  repository: Repository
  clusterAgent(name: String!, hasVulnerabilities: Boolean): ClusterAgent
  clusterAgents(%(page)s): ClusterAgentConnection
  environment(name: String, search: String, states: [String!]): Environment
  environments(name: String, search: String, states: [String!], type: String, %(page)s):
    EnvironmentConnection
}

enum EntryType { tree blob commit }

type Repository {
  rootRef: String
  empty: Boolean!
  exists: Boolean!
  tree(path: String = "", ref: String, recursive: Boolean = false): Tree
  blobs(paths: [String!]!, ref: String, %(page)s): RepositoryBlobConnection
}

type Commit {
  id: ID!
  sha: String!
  title: String
}

type Tree {
  lastCommit: Commit
  blobs(%(page)s): BlobConnection!
  trees(%(page)s): TreeEntryConnection!
}

type Blob {
  id: ID!
  sha: String!
  name: String!
  path: String!
  flatPath: String!
  type: EntryType!
  mode: String
  webPath: String
}

type TreeEntry {
  id: ID!
  sha: String!
  name: String!
  path: String!
  flatPath: String!
  type: EntryType!
  webPath: String
}

type RepositoryBlob {
  id: ID!
  oid: String!
  path: String!
  name: String
  mode: String
  size: Int
  rawSize: Int
  rawTextBlob: String
  rawBlob: String
}

type ClusterAgent {
  id: ClustersAgentID!
  name: String
  createdAt: Time
  updatedAt: Time
  webPath: String
  isReceptive: Boolean
  tokens(%(page)s): ClusterAgentTokenConnection
}

enum AgentTokenStatus { ACTIVE REVOKED }

type ClusterAgentToken {
  id: ClustersAgentTokenID!
  name: String
  description: String
  createdAt: Time
  lastUsedAt: Time
  status: AgentTokenStatus!
  clusterAgent: ClusterAgent
}

type Environment {
  id: ID!
  name: String!
  state: String!
  path: String!
  slug: String
  externalUrl: String
  tier: String
  createdAt: Time
  updatedAt: Time
  %(environment_dashboard)s
}

type Mutation {
  createClusterAgent(input: CreateClusterAgentInput!): CreateClusterAgentPayload
  clusterAgentTokenCreate(input: ClusterAgentTokenCreateInput!): ClusterAgentTokenCreatePayload
  environmentCreate(input: EnvironmentCreateInput!): EnvironmentCreatePayload
}

input CreateClusterAgentInput {
  clientMutationId: String
  projectPath: ID!
  name: String!
}
type CreateClusterAgentPayload {
  clientMutationId: String
  clusterAgent: ClusterAgent
  errors: [String!]!
}

input ClusterAgentTokenCreateInput {
  clientMutationId: String
  clusterAgentId: ClustersAgentID!
  description: String
  name: String!
}
type ClusterAgentTokenCreatePayload {
  clientMutationId: String
  secret: String
  token: ClusterAgentToken
  errors: [String!]!
}

input EnvironmentCreateInput {
  clientMutationId: String
  projectPath: ID!
  name: String!
  externalUrl: String
  tier: String
  %(environment_dashboard_input)s
}
type EnvironmentCreatePayload {
  clientMutationId: String
  environment: Environment
  errors: [String!]!
}
"""

DASHBOARD_FIELDS = """clusterAgent: ClusterAgent
  kubernetesNamespace: String
  fluxResourcePath: String"""
DASHBOARD_INPUT = """clusterAgentId: ClustersAgentID
  kubernetesNamespace: String
  fluxResourcePath: String"""


def graphql_dashboard_since(release: Release) -> bool:
    return release.at_least(16, 4)


def schema_text(release: Release) -> str:
    dashboard = graphql_dashboard_since(release)
    text = BASE % {
        "page": PAGE_ARGS,
        "k8s_proxy": "externalK8sProxyUrl: String" if release.metadata_has_k8s_proxy_url else "",
        "environment_dashboard": DASHBOARD_FIELDS if dashboard else "",
        "environment_dashboard_input": DASHBOARD_INPUT if dashboard else "",
    }
    return text + "".join(CONNECTION.format(name=name) for name in CONNECTIONS)


@lru_cache(maxsize=16)
def _build(text: str) -> GraphQLSchema:
    from graphql import build_schema

    return build_schema(text)


def schema_for(release: Release) -> GraphQLSchema:
    return _build(schema_text(release))
