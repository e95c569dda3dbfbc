-- Sign-in links are single-use: the nonce of each link redeemed is kept until the link
-- would have expired anyway (rappels_core::login).
CREATE TABLE login_nonces (
    nonce       TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL   -- Unix seconds
);
CREATE INDEX login_nonces_expiry ON login_nonces (expires_at);
