"""The typed Python DSL: `projects/NAME.py` files that build the same project a YAML file does.

    from dataiku_iac.dsl import DatasetManaged, Project, ProjectFile

    config = ProjectFile(project=Project(key="SALES", name="Sales"),
                         datasets=[DatasetManaged(name="orders", connection="filesystem_managed")])

The classes are generated from the project schema (`dsl/models.py`, scripts/gen_dsl.py);
docs/python-dsl.md explains the rest (variables, mixing with YAML, errors, `dataiku-iac convert`).
"""

from dataiku_iac.dsl.base import UNSET, Location, Model, Var, to_data, var
from dataiku_iac.dsl.models import *  # noqa: F403 (the generated classes are the DSL)
from dataiku_iac.dsl.models import __all__ as _models
from dataiku_iac.dsl.parse import ConvertError, from_data

__all__ = ["UNSET", "ConvertError", "Location", "Model", "Var", "from_data", "to_data", "var", *_models]
