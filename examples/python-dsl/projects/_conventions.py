"""Team conventions shared by the Python project files (a helper module: its name starts with `_`,
so it is not a project file itself; project files import it as `projects._conventions`)."""

from __future__ import annotations

from typing import List

from dataiku_iac.dsl import Column, DatasetManaged, DatasetSchema

TEAM_TAGS = ["markets", "iac-managed"]


def price_table(name: str, *, zone: str, description: str = "") -> DatasetManaged:
    """A parquet dataset with the prices schema, tagged like every dataset of the team."""
    return DatasetManaged(
        name=name,
        format="parquet",
        zone=zone,
        tags=TEAM_TAGS,
        description=description or f"prices: {name}",
        schema=DatasetSchema(columns=[
            Column(name="instrument", type="string"),
            Column(name="day", type="date"),
            Column(name="price", type="double"),
        ]),
    )


def names(prefix: str, regions: List[str]) -> List[str]:
    return [f"{prefix}_{region}" for region in regions]
