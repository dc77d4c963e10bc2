"""The emulated world: GitLab, Kubernetes and Flux on 127.0.0.1.

Product code never imports this package; only the `kasboot sandbox` and
`kasboot demo` commands (and the tests) do."""
