"""Recipe "IaC drift report": rows from dataiku_iac.dss.report, written to the output dataset."""

from datetime import datetime, timezone

import dataiku
from dataiku.customrecipe import get_output_names_for_role, get_recipe_config
from dataiku_iac.dss import report

checked_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
rows = report.report_rows(get_recipe_config(), dataiku.api_client, dataiku.default_project_key(), checked_at)
output = dataiku.Dataset(get_output_names_for_role("report")[0])
output.write_schema(report.SCHEMA)
with output.get_writer() as writer:
    for row in rows:
        writer.write_row_dict(row)
