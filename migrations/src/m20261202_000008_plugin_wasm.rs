//! Plugin components move out of `plugin_versions` into `plugin_wasm`, keyed by content hash.
//! In a row, SQLite stores the columns in order and a multi-megabyte blob in a chain of overflow
//! pages: every read of a column after `wasm` (`sha256`, `created_at`) walked that chain, and
//! each tenant's plugin setup is read again after every write (a fifth of SQLite's time under a
//! create load). Identical components are also stored once.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PluginWasm {
    Table,
    Sha256,
    Wasm,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginWasm::Table)
                    .col(
                        ColumnDef::new(PluginWasm::Sha256)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PluginWasm::Wasm).blob().not_null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // `WHERE true`: SQLite would read `ON CONFLICT` after a bare `FROM` as a join constraint.
        db.execute_unprepared(
            "INSERT INTO plugin_wasm (sha256, wasm) SELECT sha256, wasm FROM plugin_versions WHERE true \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .await?;
        db.execute_unprepared("ALTER TABLE plugin_versions DROP COLUMN wasm")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let blob = match manager.get_database_backend() {
            sea_orm::DbBackend::Postgres => "bytea",
            _ => "blob",
        };
        db.execute_unprepared(&format!(
            "ALTER TABLE plugin_versions ADD COLUMN wasm {blob}"
        ))
        .await?;
        db.execute_unprepared(
            "UPDATE plugin_versions SET wasm = \
             (SELECT w.wasm FROM plugin_wasm w WHERE w.sha256 = plugin_versions.sha256)",
        )
        .await?;
        manager
            .drop_table(Table::drop().table(PluginWasm::Table).to_owned())
            .await
    }
}
