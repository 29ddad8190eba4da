"""Project Standards check "IaC: compliance rule": one dataiku-iac compliance rule over the project
(logic in dataiku_iac.dss.components.project_standards_check)."""

from dataiku.project_standards import ProjectStandardsCheckRunResult, ProjectStandardsCheckSpec
from dataiku_iac.dss import components


class IacComplianceRule(ProjectStandardsCheckSpec):
    def run(self):
        result = components.project_standards_check(self.config, self.project)
        if result["status"] == "RUN_ERROR":
            return ProjectStandardsCheckRunResult.error(result["message"])
        if result["severity"]:
            return ProjectStandardsCheckRunResult.failure(result["severity"], result["message"])
        return ProjectStandardsCheckRunResult.success(result["message"])
