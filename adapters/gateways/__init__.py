"""Payment gateway adapters: sandbox (in-process), Stripe, Paystack, Flutterwave, MTN MoMo."""
