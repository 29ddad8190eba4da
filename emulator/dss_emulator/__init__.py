"""dss-emulator: a faithful emulator of the Dataiku DSS public REST API."""

__version__ = "0.1.0"
