# The module's recipe code: its path in resources.yml is relative to the module directory.
# Every call of the module runs the same code on its own datasets (the recipe's input and output).
from dataiku import recipe

source = recipe.get_inputs_as_datasets()[0]
target = recipe.get_outputs_as_datasets()[0]
frame = source.get_dataframe()
target.write_with_schema(frame.dropna(how="all"))
