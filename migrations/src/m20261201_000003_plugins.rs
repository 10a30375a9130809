//! Plugins: installed components and their versions, per-tenant enablement, and the per-plugin
//! key-value store.
//!
//! `plugins` holds one row per plugin id and scope: `owner_tenant_id` is NULL for platform plugins
//! (installed by operators, offered to every tenant) and a tenant's id for its private plugins.
//! Plugin ids are unique per scope; a private plugin may not take a platform plugin's id (the
//! service checks it, since a unique key with a NULL column does not). The component bytes live
//! in `plugin_versions`, so every node can load them. `tenant_plugins` says which plugins a tenant
//! enabled, at which version, with its configuration, grants and narrowed limits. `plugin_kv` is
//! keyed `(tenant_id, plugin_id, key)`: a plugin never sees another plugin's or tenant's keys.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Plugins {
    Table,
    Id,
    PluginId,
    OwnerTenantId,
    LatestVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PluginVersions {
    Table,
    PluginRowId,
    Version,
    Manifest,
    Wasm,
    Sha256,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum TenantPlugins {
    Table,
    TenantId,
    PluginRowId,
    Version,
    Enabled,
    Config,
    Grants,
    Limits,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PluginKv {
    Table,
    TenantId,
    PluginId,
    Key,
    Value,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

fn text(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}

fn big(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

fn cascade<T: IntoIden + 'static>(
    table: T,
    col: impl IntoIden,
    to: impl IntoIden + 'static,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(to, to_col)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Plugins::Table)
                    .col(text(Plugins::Id).primary_key())
                    .col(text(Plugins::PluginId))
                    .col(ColumnDef::new(Plugins::OwnerTenantId).text().null())
                    .col(text(Plugins::LatestVersion))
                    .col(big(Plugins::CreatedAt))
                    .col(big(Plugins::UpdatedAt))
                    .foreign_key(&mut cascade(
                        Plugins::Table,
                        Plugins::OwnerTenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("plugins_scope_id")
                    .table(Plugins::Table)
                    .col(Plugins::OwnerTenantId)
                    .col(Plugins::PluginId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PluginVersions::Table)
                    .col(text(PluginVersions::PluginRowId))
                    .col(text(PluginVersions::Version))
                    .col(text(PluginVersions::Manifest))
                    .col(ColumnDef::new(PluginVersions::Wasm).blob().not_null())
                    .col(text(PluginVersions::Sha256))
                    .col(big(PluginVersions::CreatedAt))
                    .col(text(PluginVersions::CreatedBy))
                    .primary_key(
                        Index::create()
                            .col(PluginVersions::PluginRowId)
                            .col(PluginVersions::Version),
                    )
                    .foreign_key(&mut cascade(
                        PluginVersions::Table,
                        PluginVersions::PluginRowId,
                        Plugins::Table,
                        Plugins::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TenantPlugins::Table)
                    .col(text(TenantPlugins::TenantId))
                    .col(text(TenantPlugins::PluginRowId))
                    .col(text(TenantPlugins::Version))
                    .col(ColumnDef::new(TenantPlugins::Enabled).boolean().not_null())
                    .col(text(TenantPlugins::Config))
                    .col(text(TenantPlugins::Grants))
                    .col(text(TenantPlugins::Limits))
                    .col(big(TenantPlugins::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(TenantPlugins::TenantId)
                            .col(TenantPlugins::PluginRowId),
                    )
                    .foreign_key(&mut cascade(
                        TenantPlugins::Table,
                        TenantPlugins::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .foreign_key(&mut cascade(
                        TenantPlugins::Table,
                        TenantPlugins::PluginRowId,
                        Plugins::Table,
                        Plugins::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PluginKv::Table)
                    .col(text(PluginKv::TenantId))
                    .col(text(PluginKv::PluginId))
                    .col(text(PluginKv::Key))
                    .col(text(PluginKv::Value))
                    .col(big(PluginKv::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(PluginKv::TenantId)
                            .col(PluginKv::PluginId)
                            .col(PluginKv::Key),
                    )
                    .foreign_key(&mut cascade(
                        PluginKv::Table,
                        PluginKv::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PluginKv::Table.into_iden(),
            TenantPlugins::Table.into_iden(),
            PluginVersions::Table.into_iden(),
            Plugins::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
