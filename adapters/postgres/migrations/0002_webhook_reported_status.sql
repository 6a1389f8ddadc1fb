-- The payment status a webhook reported when received (domain.webhooks.WebhookEvent.reported_status),
-- which reconciliation cross-checks against the intent: processed success webhooks are indexed.
ALTER TABLE webhook_events
    ADD COLUMN reported_status text CHECK (reported_status IN (
        'requires_payment_method', 'requires_action', 'processing', 'succeeded', 'failed', 'canceled', 'expired'));
CREATE INDEX webhook_events_processed_success_idx ON webhook_events (received_at, id)
    WHERE status = 'processed' AND reported_status = 'succeeded';
