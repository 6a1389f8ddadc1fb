-- The rest of the storefront (issue 18): tags and ratings on products, profiles, wishlists,
-- reviews, support tickets with their messages, contact messages and the FAQ (e-mails go on the
-- delivery queue of 0004).

-- Tags: the vocabulary, and the slugs each product carries.
CREATE TABLE tags (
    slug text COLLATE "C" PRIMARY KEY CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
    name text NOT NULL CHECK (name <> '')
);

-- The rating is kept by the reviews under the product's row lock (never by an edit of the product).
ALTER TABLE products
    ADD COLUMN tags         text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    ADD COLUMN rating_count integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    ADD COLUMN rating_total bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT products_rating_in_range CHECK (rating_total BETWEEN rating_count AND 5 * rating_count);
CREATE INDEX products_tags_idx ON products USING gin (tags);

-- Profiles; token_generation goes up with each password change (older refresh tokens are refused).
ALTER TABLE users
    ADD COLUMN phone            text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    ADD COLUMN default_address  jsonb CHECK (default_address IS NULL OR jsonb_typeof(default_address) = 'object'),
    ADD COLUMN token_generation integer NOT NULL DEFAULT 0 CHECK (token_generation >= 0);

-- One wishlist per owner (a user id or a guest id), like the carts.
CREATE TABLE wishlists (
    owner_id   text COLLATE "C" PRIMARY KEY,
    items      jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(items) = 'array'),
    updated_at timestamptz NOT NULL,
    version    integer NOT NULL DEFAULT 0 CHECK (version >= 0)
);

CREATE TABLE reviews (
    id            text COLLATE "C" PRIMARY KEY,
    product_id    text COLLATE "C" NOT NULL REFERENCES products (id),
    author_id     text COLLATE "C" NOT NULL,
    author_name   text NOT NULL,
    rating        smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body          text NOT NULL CHECK (body <> '' AND length(body) <= 5000),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    hidden        boolean NOT NULL DEFAULT false,
    hidden_reason text,
    version       integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    CONSTRAINT reviews_one_per_author UNIQUE (product_id, author_id)
);
CREATE INDEX reviews_product_list_idx ON reviews (product_id, created_at DESC, id DESC);
CREATE INDEX reviews_visible_list_idx ON reviews (product_id, created_at DESC, id DESC) WHERE NOT hidden;

CREATE TABLE support_tickets (
    id             text COLLATE "C" PRIMARY KEY,
    owner_id       text COLLATE "C" NOT NULL,
    customer_email text,
    customer_name  text,
    subject        text NOT NULL CHECK (subject <> '' AND length(subject) <= 200),
    status         text NOT NULL CHECK (status IN ('open', 'pending', 'resolved', 'closed')),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    order_id       text COLLATE "C" REFERENCES orders (id),
    assignee_id    text COLLATE "C" REFERENCES users (id),
    settled_at     timestamptz,
    version        integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    CHECK (status NOT IN ('resolved', 'closed') OR settled_at IS NOT NULL)
);
CREATE INDEX support_tickets_owner_list_idx ON support_tickets (owner_id, created_at DESC, id DESC);
CREATE INDEX support_tickets_list_idx ON support_tickets (created_at DESC, id DESC);
CREATE INDEX support_tickets_status_list_idx ON support_tickets (status, created_at DESC, id DESC);
CREATE INDEX support_tickets_assignee_list_idx ON support_tickets (assignee_id, created_at DESC, id DESC)
    WHERE assignee_id IS NOT NULL;

-- A ticket's thread: appended, never changed.
CREATE TABLE support_messages (
    ticket_id   text COLLATE "C" NOT NULL REFERENCES support_tickets (id) ON DELETE CASCADE,
    position    integer NOT NULL CHECK (position >= 0),
    id          text COLLATE "C" NOT NULL UNIQUE,
    author_id   text COLLATE "C" NOT NULL,
    author_role text NOT NULL CHECK (author_role IN ('customer', 'staff')),
    body        text NOT NULL CHECK (body <> ''),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, position)
);

CREATE TABLE contact_messages (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL CHECK (name <> ''),
    email      text NOT NULL CHECK (email <> ''),
    message    text NOT NULL CHECK (message <> ''),
    created_at timestamptz NOT NULL,
    sender_id  text COLLATE "C"
);
CREATE INDEX contact_messages_list_idx ON contact_messages (created_at DESC, id DESC);

CREATE TABLE faq_sections (
    slug     text COLLATE "C" PRIMARY KEY,
    title    text NOT NULL CHECK (title <> ''),
    position integer NOT NULL DEFAULT 0 CHECK (position >= 0)
);
CREATE TABLE faq_entries (
    id         text COLLATE "C" PRIMARY KEY,
    section    text COLLATE "C" NOT NULL REFERENCES faq_sections (slug),
    question   text NOT NULL CHECK (question <> ''),
    answer     text NOT NULL CHECK (answer <> ''),
    position   integer NOT NULL DEFAULT 0 CHECK (position >= 0),
    updated_at timestamptz NOT NULL
);
CREATE INDEX faq_entries_section_idx ON faq_entries (section, position, id);
