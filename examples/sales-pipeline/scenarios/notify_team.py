# A custom Python step of the nightly scenario: record how the run went in a scenario variable
# (the reporters and later steps can read it).
from dataiku.scenario import Scenario

scenario = Scenario()
scenario.set_scenario_variables(nightly_notified="yes")
