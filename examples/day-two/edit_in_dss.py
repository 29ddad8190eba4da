"""Change the ORDERS project in DSS behind dataiku-iac's back, as a colleague in the DSS UI would.

    python edit_in_dss.py                       # the three edits of the walk-through
    python edit_in_dss.py --description TEXT    # only orders_raw's description
    python edit_in_dss.py --hour N              # only the NIGHTLY scenario's hour

Uses the public API client (dataikuapi) with $DKU_DSS_URL and $DKU_API_KEY.
"""

from __future__ import annotations

import argparse
import os

import dataikuapi

PROJECT_KEY = "ORDERS"


def edit_description(project: dataikuapi.dss.project.DSSProject, text: str) -> None:
    settings = project.get_dataset("orders_raw").get_settings()
    settings.get_raw()["description"] = text
    settings.save()


def move_schedule(project: dataikuapi.dss.project.DSSProject, hour: int) -> None:
    settings = project.get_scenario("NIGHTLY").get_settings()
    trigger = settings.get_raw()["triggers"][0]  # the temporal trigger
    trigger["params"]["hour"] = hour
    settings.save()


def set_variable(project: dataikuapi.dss.project.DSSProject, name: str, value: object) -> None:
    variables = project.get_variables()
    variables["standard"][name] = value
    project.set_variables(variables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--description", help="set only orders_raw's description to this text")
    parser.add_argument("--hour", type=int, help="move only the NIGHTLY scenario to this hour")
    args = parser.parse_args()
    client = dataikuapi.DSSClient(os.environ["DKU_DSS_URL"], os.environ["DKU_API_KEY"])
    project = client.get_project(PROJECT_KEY)
    if args.description is not None or args.hour is not None:
        if args.description is not None:
            edit_description(project, args.description)
            print(f"orders_raw: description set to {args.description!r}")
        if args.hour is not None:
            move_schedule(project, args.hour)
            print(f"NIGHTLY: moved to {args.hour:02d}:00")
        return
    edit_description(project, "Orders as they land, deduplicated by the warehouse")
    move_schedule(project, 4)
    set_variable(project, "min_amount", 10)
    print("orders_raw: description changed; NIGHTLY: moved to 04:00; variable min_amount: 10")


if __name__ == "__main__":
    main()
