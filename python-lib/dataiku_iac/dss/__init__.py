"""The inside-DSS face of dataiku-iac: the service layer (`service.py`) that macros, scenario
steps, the custom recipe and the webapp call, with its HTML renderers and permission checks.

Nothing here imports the internal `dataiku` package: callers pass `dataiku.api_client` (or
any factory of `dataikuapi.DSSClient`) in, so everything is testable outside DSS.
"""
