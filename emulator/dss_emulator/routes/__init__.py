"""Route modules, one per object kind. Importing this package registers every route on router.API_ROUTES."""

from . import (  # noqa: F401
    apideployer,
    apiservices,
    data,
    data_quality,
    datasets,
    flow,
    folders,
    footprint,
    instance,
    jobs,
    library,
    macros,
    metrics,
    mltasks,
    notebooks,
    project_standards,
    projects,
    recipes,
    savedmodels,
    scenarios,
)
