-- An endpoint's delivery log (GET /api/v1/admin/merchant-webhooks/{id}/deliveries): its deliveries,
-- newest first, found without scanning the whole delivery queue.
CREATE INDEX deliveries_merchant_endpoint_idx ON deliveries ((payload->>'endpoint_id'), created_at DESC, id DESC)
    WHERE channel = 'merchant_webhook';
