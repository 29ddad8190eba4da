# The customers the model learns from: 200 rows, the same on every run (no randomness), so that
# the scores, the evaluation and the charts are the same in every environment.
import dataiku

PLANS = ["basic", "plus", "premium"]

with dataiku.Dataset("customers").get_writer() as writer:
    for n in range(200):
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
