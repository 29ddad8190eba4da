# This month's customers: 60 rows, the same on every run, drawn like the training rows (every third
# customer of the same formulas, one further), so the evaluation shows little drift. Make them
# differ (longer tenures, more calls) and the store's drift check fails the evaluation.
import dataiku

PLANS = ["basic", "plus", "premium"]

with dataiku.Dataset("new_customers").get_writer() as writer:
    for k in range(60):
        n = 3 * k + 1
        tenure = 1 + (n * 7) % 60
        monthly = 20.0 + (n * 13) % 80
        support_calls = (n * 3) % 9
        churned = support_calls > 5 or (tenure < 6 and monthly > 70)
        writer.write_row_dict({
            "customer_id": n,
            "plan": PLANS[n % 3],
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "support_calls": support_calls,
            "churned": 1 if churned else 0,
        })
