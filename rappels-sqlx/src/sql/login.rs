//! The single use of sign-in links: each link's nonce is redeemed once.

use sqlx::{ColumnIndex, Decode, Encode, Executor, Pool, QueryBuilder, Type};

use super::Sql;
use crate::SqlError;
use crate::engine::Engine;

impl<DB> Sql<DB>
where
    DB: Engine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'n> &'n str: ColumnIndex<DB::Row>,
{
    /// Records `nonce` as redeemed until `expires_at` (Unix seconds), forgetting the
    /// nonces whose links have expired by `now`; true when it was not redeemed before.
    pub(crate) async fn redeem_login_nonce(
        pool: &Pool<DB>,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, SqlError> {
        let mut tx = pool.begin().await?;
        let mut purge = QueryBuilder::<DB>::new("DELETE FROM login_nonces WHERE expires_at <= ");
        purge.push_bind(now);
        purge.build().execute(&mut *tx).await?;
        let mut insert =
            QueryBuilder::<DB>::new("INSERT INTO login_nonces (nonce, expires_at) VALUES (");
        insert.push_bind(nonce);
        insert.push(", ");
        insert.push_bind(expires_at);
        insert.push(") ON CONFLICT (nonce) DO NOTHING");
        let result = insert.build().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(DB::rows_affected(&result) == 1)
    }
}
