-- ?1 group_ids, ?3 customer_ids, ?4 other_context_group_ids as JSON arrays; ?2 customer_user
SELECT t.id
FROM ticket t
WHERE t.queue_group_id IN (SELECT value FROM json_each(?1))
  AND (LOWER(t.customer_user_id) = LOWER(?2)
       OR LOWER(t.customer_id) IN (SELECT LOWER(value) FROM json_each(?3))
       OR t.queue_group_id IN (SELECT value FROM json_each(?4)))
ORDER BY t.id
