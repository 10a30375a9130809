//! `tenants.plugins_rev` counts changes to a tenant's plugin setups. A request reads it with its
//! credential (the same statement as the outbox sequence), so a node can keep the tenant's setups
//! in memory between writes and still see another node's change at its next request: every
//! write used to read the setups again to find its `before-save` hooks.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    PluginsRev,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(
                        ColumnDef::new(Tenants::PluginsRev)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .drop_column(Tenants::PluginsRev)
                    .to_owned(),
            )
            .await
    }
}
