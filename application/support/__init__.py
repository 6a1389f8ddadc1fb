"""Use cases of the support context: tickets, the contact form, the FAQ."""
