//! What the scale examples share: a fresh PostgreSQL database of their own on the server of
//! `RAPPELS_TEST_POSTGRES`, and its removal at the end.

/// The server the examples measure PostgreSQL on.
pub(crate) fn postgres_server() -> Result<String, Box<dyn std::error::Error>> {
    Ok(std::env::var("RAPPELS_TEST_POSTGRES")
        .map_err(|_| "--backend postgres needs RAPPELS_TEST_POSTGRES=postgres://…")?)
}

/// A new, empty database `name` on the server (dropped first if a run left it): its URL.
pub(crate) async fn fresh_postgres(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    let server = postgres_server()?;
    let admin = sqlx::PgPool::connect(&server).await?;
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await?;
    }
    admin.close().await;
    let base = server
        .rsplit_once('/')
        .map_or(server.as_str(), |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

/// Drops database `name` on the server.
pub(crate) async fn drop_postgres(name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let admin = sqlx::PgPool::connect(&postgres_server()?).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    admin.close().await;
    Ok(())
}
