"""dataiku-iac: infrastructure as code for Dataiku DSS (YAML -> plan -> apply -> drift)."""

__version__ = "0.1.0"
