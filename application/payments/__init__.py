"""Payment use cases: initiate (phased), settle outcomes, refunds, webhooks, reads."""
