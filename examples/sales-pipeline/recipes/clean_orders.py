import dataiku

orders = dataiku.Dataset("orders_raw").get_dataframe()
orders = orders[orders["amount"] > float(dataiku.get_custom_variables()["min_amount"])]
dataiku.Dataset("orders_clean").write_with_schema(orders)
