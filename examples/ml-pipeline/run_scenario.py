"""Run a scenario of a DSS project and wait for it, as the DSS UI's "Run" button does.

    python run_scenario.py PROJECT_KEY SCENARIO_ID

Prints the outcome (`NIGHTLY: SUCCESS`); exits 1 when the run did not succeed. Uses the public
API client (dataikuapi) with $DKU_DSS_URL and $DKU_API_KEY.
"""

from __future__ import annotations

import os
import sys

import dataikuapi


def main() -> int:
    project_key, scenario_id = sys.argv[1:3]
    client = dataikuapi.DSSClient(os.environ["DKU_DSS_URL"], os.environ["DKU_API_KEY"])
    run = client.get_project(project_key).get_scenario(scenario_id).run_and_wait(no_fail=True)
    outcome = run.get_info()["result"]["outcome"]
    print(f"{scenario_id}: {outcome}")
    return 0 if outcome == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
