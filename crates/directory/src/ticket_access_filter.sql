SELECT t.id
FROM ticket t
WHERE t.queue_group_id IN (SELECT value FROM json_each(:group_ids))
  AND (LOWER(t.customer_user_id) = LOWER(:login)
       OR LOWER(t.customer_id) IN (SELECT LOWER(value) FROM json_each(:customer_ids))
       OR t.queue_group_id IN (SELECT value FROM json_each(:other_context_group_ids)))
ORDER BY t.id
