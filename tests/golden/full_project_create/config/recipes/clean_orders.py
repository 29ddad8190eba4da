import dataiku
# clean the orders
