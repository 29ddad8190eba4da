"""Modules: reusable groups of resources called from project files (docs/modules.md).

`sources` finds a module's files (local path, Git, registry, standard library) and hashes them;
`lock` reads and writes `iac.lock.yml`; `registry` reads a registry's index.
"""
