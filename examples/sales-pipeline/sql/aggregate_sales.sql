SELECT customer_id, SUM(amount) AS total_amount, COUNT(*) AS orders
FROM orders_clean
GROUP BY customer_id
