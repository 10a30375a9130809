//! Media asset ids are unique per tenant, like entry ids: the primary key becomes
//! `(tenant_id, id)`, so that a tenant moved with `zellige export`/`import` keeps its asset ids
//! also beside its source in the same database. The table is rebuilt (SQLite cannot change a
//! primary key in place); its rows are copied.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MediaAssets {
    Table,
    Id,
    TenantId,
    Sha256,
    FileName,
    Mime,
    Size,
    Width,
    Height,
    Alt,
    Caption,
    Folder,
    Tags,
    IsPublic,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MediaAssetsNew {
    Table,
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

const COLUMNS: &str = "id, tenant_id, sha256, file_name, mime, size, width, height, alt, caption, folder, tags, is_public, created_by, created_at, updated_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let create = Table::create()
            .table(MediaAssetsNew::Table)
            .col(text(MediaAssets::Id))
            .col(text(MediaAssets::TenantId))
            .col(text(MediaAssets::Sha256))
            .col(text(MediaAssets::FileName))
            .col(text(MediaAssets::Mime))
            .col(big(MediaAssets::Size))
            .col(ColumnDef::new(MediaAssets::Width).integer().null())
            .col(ColumnDef::new(MediaAssets::Height).integer().null())
            .col(text(MediaAssets::Alt))
            .col(text(MediaAssets::Caption))
            .col(text(MediaAssets::Folder))
            .col(text(MediaAssets::Tags))
            .col(ColumnDef::new(MediaAssets::IsPublic).boolean().not_null())
            .col(ColumnDef::new(MediaAssets::CreatedBy).text().null())
            .col(big(MediaAssets::CreatedAt))
            .col(big(MediaAssets::UpdatedAt))
            .primary_key(
                Index::create()
                    .col(MediaAssets::TenantId)
                    .col(MediaAssets::Id),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(MediaAssetsNew::Table, MediaAssets::TenantId)
                    .to(Tenants::Table, Tenants::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .to_owned();
        let index = Index::create()
            .name("media_assets_bytes")
            .table(MediaAssets::Table)
            .col(MediaAssets::TenantId)
            .col(MediaAssets::Sha256)
            .to_owned();
        let (create, index) = match manager.get_database_backend() {
            sea_orm::DbBackend::Postgres => (
                create.to_string(PostgresQueryBuilder),
                index.to_string(PostgresQueryBuilder),
            ),
            _ => (
                create.to_string(SqliteQueryBuilder),
                index.to_string(SqliteQueryBuilder),
            ),
        };
        // One script on one connection: with SQLite's WAL, a pooled connection still inside an
        // older read would not see the table dropped by another and refuse the rename.
        let script = format!(
            "{create}; \
             INSERT INTO media_assets_new ({COLUMNS}) SELECT {COLUMNS} FROM media_assets; \
             DROP TABLE media_assets; \
             ALTER TABLE media_assets_new RENAME TO media_assets; \
             {index}"
        );
        let db = manager.get_connection();
        if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
            for statement in script.split("; ") {
                db.execute_unprepared(statement).await?;
            }
            Ok(())
        } else {
            db.execute_unprepared(&script).await.map(|_| ())
        }
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Going back would merge ids of different tenants under one key.
        Err(DbErr::Migration(
            "media asset keys cannot be narrowed back to global ids".into(),
        ))
    }
}
