"""Resource types: one module per DSS object type (its handler, field policy and spec), read by
every layer through `registry.py`. `base.py` holds the handler protocol, `policy.py` the field
policies and comparators, `spec.py` the spec record."""
