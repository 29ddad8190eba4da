"""`python -m dataiku_iac` is the `dataiku-iac` command."""

from dataiku_iac.cli import main

main()
