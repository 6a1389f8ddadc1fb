-- Products that need no delivery (a download, a service): their checkouts confirm without a
-- shipping decision (issue 13 item 8: goods need one, and tax is always computed).
ALTER TABLE products ADD COLUMN shippable boolean NOT NULL DEFAULT true;
