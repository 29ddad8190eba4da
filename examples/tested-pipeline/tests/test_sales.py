"""Python tests of the shop pipeline: `dataiku-iac test -e dev` runs them with tests/orders.yml,
in the same throwaway environment (docs/testing.md, "Python tests"). Each `test_*` function gets
the test context `t`."""

from dataiku_iac.testing.api import TestContext, skip

PROJECT = "SHOP"  # the project, as written in projects/ (optional here: there is only one)

FRENCH_CUSTOMERS = [{"customer": "ann", "country": "FR"}, {"customer": "cid", "country": "FR"}]


def test_totals_add_up_per_country(t: TestContext) -> None:
    """The whole pipeline, from raw orders to totals: what comes out sums what went in."""
    t.given("orders_raw", "tests/fixtures/orders_raw.csv")
    t.given("customers", "tests/fixtures/customers.json")
    result = t.build("sales_by_country")
    assert result.recipes == ("copy_orders", "clean_orders", "sum_by_country")

    clean = t.rows("orders_clean")
    totals = {row["country"]: row["total"] for row in t.rows("sales_by_country")}
    assert abs(sum(totals.values()) - sum(row["amount"] for row in clean)) < 1e-9
    t.assert_rows("sales_by_country", [{"country": "FR", "orders": 3}, {"country": "DE", "orders": 1}],
                  columns=["country", "orders"])


def test_only_known_statuses_survive_cleaning(t: TestContext) -> None:
    t.given("orders_raw", [
        {"order_id": 1, "customer": "ann", "amount": "3", "status": "PAID"},
        {"order_id": 2, "customer": "ann", "amount": "4", "status": "CANCELLED"},
    ])
    t.build("orders_clean")
    t.assert_quality("orders_clean",
                     {"in_set": {"column": "status", "values": ["NEW", "PAID", "SHIPPED"]}},
                     {"unique": "order_id"})
    assert [row["order_id"] for row in t.rows("orders_clean")] == [1]


def test_text_amounts_fail_the_build(t: TestContext) -> None:
    t.given("orders_raw", [{"order_id": 9, "customer": "eve", "amount": "a lot", "status": "NEW"}])
    t.build_fails("orders_clean", match="(?i)conver")


@skip("a deliberate failure, to see a diff: dataiku-iac test -e dev -k deliberately --run-skipped")
def test_deliberately_failing_in_python(t: TestContext) -> None:
    t.given("orders_clean", [{"order_id": 1, "customer": "ann", "amount": 2.0, "status": "PAID"}])
    t.given("customers", FRENCH_CUSTOMERS)
    t.build("sales_by_country", recursive=False)
    t.assert_rows("sales_by_country", [{"country": "FR", "total": 2.5, "orders": 1}])
