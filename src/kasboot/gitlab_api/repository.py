"""The seam's repository reads that answer many files in one request: a directory as
ONE archive (``GET /repository/archive.tar.gz?path=…``), several small files' texts in
one GraphQL query (``repository.blobs(paths:)``), and a file compared by blob id before
it is fetched at all."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence

from kasboot.errors import GitLabError
from kasboot.gitlab_api.graphql import GraphQLRefused, GraphQLUnsupported
from kasboot.gitlab_api.model import RepoFile
from kasboot.gitlab_api.survey import Survey, SurveyReads, git_blob_id

TEXTS_QUERY = """query kasbootTexts($project: ID!, $ref: String, $paths: [String!]!) {
  project(fullPath: $project) {
    repository { blobs(paths: $paths, ref: $ref) { nodes { path rawTextBlob } } }
  }
}"""


def files_of_archive(data: bytes) -> dict[str, bytes]:
    """Regular files of a GitLab archive by repository path (its one prefix directory
    stripped). Symlinks and submodules are left out: they have no content to read."""
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive:
            if not member.isfile() or "/" not in member.name:
                continue
            extracted = archive.extractfile(member)
            if extracted is not None:
                found[member.name.split("/", 1)[1]] = extracted.read()
    return found


class RepositoryReads(SurveyReads):
    def remember_survey(self, project: str, survey: Survey, asked: Sequence[str]) -> None:
        """Blob ids the survey answered: an asked path it did not list is no file."""
        for path in asked:
            self._blob_ids[(project, survey.ref, path)] = survey.blobs.get(path)

    def file_unless_same(
        self, project: str, path: str, ref: str, wanted: str
    ) -> tuple[RepoFile | None, bool]:
        """(the file, False) — or (None, True) when the branch holds ``wanted`` exactly,
        known from its blob id without fetching it; (None, False) when there is no file."""
        key = (project, ref, path)
        if key in self._blob_ids:
            blob_id = self._blob_ids[key]
            if blob_id is None:
                return None, False
            if blob_id == git_blob_id(wanted.encode()):
                return None, True
        found = self.get_file(project, path, ref)
        return found, found is not None and found.content == wanted.encode()

    def archive_files(self, project: str, ref: str, path: str) -> dict[str, bytes]:
        """Every file under ``path`` at ``ref`` with its content, in ONE request; {} when
        there is no such directory."""
        import gitlab

        with self._errors(f"reading the repository archive of ./{path}"):
            try:
                data = self._project(project).repository_archive(
                    sha=ref, format="tar.gz", path=path or None, include_lfs_blobs=False
                )
            except gitlab.exceptions.GitlabError as error:
                if error.response_code == 404:
                    return {}
                raise
        if not isinstance(data, bytes):
            raise GitLabError(f"GitLab's archive of ./{path} was not an archive")
        try:
            return files_of_archive(data)
        except tarfile.TarError as error:
            raise GitLabError(f"GitLab's archive of ./{path} could not be read: {error}") from None

    def file_texts(self, project: str, ref: str, paths: Sequence[str]) -> dict[str, bytes]:
        """The contents of the ``paths`` that are files at ``ref``, in one GraphQL query
        (REST: one request each, where GraphQL cannot)."""
        if not paths:
            return {}
        variables = {"project": project, "ref": ref, "paths": list(paths)}
        try:
            data = self.graphql(TEXTS_QUERY, variables, "reading files")
        except (GraphQLUnsupported, GraphQLRefused):
            data = None
        if data is None or data.get("project") is None:
            texts: dict[str, bytes] = {}
            for path in paths:
                found = self.get_file(project, path, ref)
                if found is not None:
                    texts[path] = found.content
            return texts
        nodes = ((data["project"].get("repository") or {}).get("blobs") or {}).get("nodes") or []
        return {str(n["path"]): str(n.get("rawTextBlob") or "").encode() for n in nodes}
