import dataiku

min_amount = float(dataiku.get_custom_variables()["min_amount"])
df = dataiku.Dataset("orders_raw").get_dataframe()
dataiku.Dataset("orders_clean").write_with_schema(df[df["amount"] >= min_amount])
