# What the README's steps 1 and 2 do before the first full apply, for the tests that apply every
# example in one go (tests/e2e/test_convergence.py, test_import.py): the dev DSS gets its API
# infrastructure, and the rows the model trains on are written before the model is created.
set -e
python in_dss.py setup dev-infra Development
dataiku-iac apply -e dev --target recipe.CHURN.generate_customers --auto-approve
python in_dss.py build CHURN_DEV customers
