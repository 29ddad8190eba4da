"""The markets project, written in Python with the typed DSL (docs/python-dsl.md).

One raw and one clean dataset per region, a sync from each raw to its clean dataset, a grouping
recipe per region, and a nightly scenario that builds them all: a loop instead of six copies.
`dataiku-iac convert projects/markets.py` shows the YAML this expands to.
"""

from dataiku_iac.dsl import (
    FlowZone,
    Permission,
    Project,
    ProjectFile,
    ProjectVariables,
    Recipe,
    RecipeGrouping,
    RecipeSync,
    Scenario,
    StepBuild,
    TriggerTemporal,
    var,
)
from projects._conventions import TEAM_TAGS, names, price_table

REGIONS = ["eu", "us", "apac"]

datasets = [price_table(raw, zone="ingestion") for raw in names("prices_raw", REGIONS)]
datasets += [price_table(clean, zone="analytics") for clean in names("prices", REGIONS)]
datasets += [price_table(daily, zone="analytics", description="daily average per instrument")
             for daily in names("daily", REGIONS)]

recipes: list[Recipe] = [  # Recipe: any kind of recipe (a Union of the recipe classes)
    RecipeSync(name=f"clean_{region}", inputs=[f"prices_raw_{region}"], outputs=[f"prices_{region}"], zone="analytics")
    for region in REGIONS
]
recipes += [
    RecipeGrouping(
        name=f"daily_{region}",
        inputs=[f"prices_{region}"],
        outputs=[f"daily_{region}"],
        keys=["instrument", "day"],
        aggregations={"price": ["avg", "min", "max"]},
        zone="analytics",
    )
    for region in REGIONS
]

config = ProjectFile(
    project=Project(
        key="MARKETS",
        name="Market prices",
        owner="${owner}",  # a string field takes ${...} as it is
        tags=TEAM_TAGS,
        permissions=[Permission(group="analysts", role="reader")],
        variables=ProjectVariables(standard={"regions": ",".join(REGIONS)}),
    ),
    flow_zones=[FlowZone(name="ingestion", color="#31439c"), FlowZone(name="analytics")],
    datasets=datasets,
    recipes=recipes,
    scenarios=[
        Scenario(
            id="NIGHTLY",
            name="Nightly prices",
            active=var("nightly_active"),  # a boolean field takes var("NAME"): ${NAME}, typed
            triggers=[TriggerTemporal(frequency="Daily", hour=2)],
            steps=[StepBuild(name="build daily averages", datasets=names("daily", REGIONS))],
        ),
    ],
)
