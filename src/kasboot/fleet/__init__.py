"""`kasboot fleet`: one file lists many clusters; plan or apply the bootstrap of each
(in parallel, with a bound, each in its own `kasboot bootstrap` process so one cluster's
failure never reaches another's), or write the GitLab CI pipeline that does the same as
a `parallel:matrix` job."""
