//! Media library: the assets of each tenant and the variants computed from them.
//!
//! `media_assets` holds one row per uploaded asset: its metadata (file name, MIME type detected
//! from the bytes, size, image dimensions, localized `alt` and caption as JSON objects keyed by
//! locale, folder, tags), who uploaded it, and `sha256`, the content address of its bytes in
//! storage. Two assets of a tenant with the same bytes share one stored object; bytes are
//! removed when the last asset that names them goes (a sweep repairs a crash in between).
//! `media_variants` records the transformed images stored beside the original, so that they
//! can be removed with their source.

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
enum MediaVariants {
    Table,
    TenantId,
    Sha256,
    Params,
    Mime,
    Size,
    CreatedAt,
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MediaAssets::Table)
                    .col(text(MediaAssets::Id).primary_key())
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
                    .foreign_key(
                        ForeignKey::create()
                            .from(MediaAssets::Table, MediaAssets::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Listing (newest first, by id) and the bytes shared between assets.
        manager
            .create_index(
                Index::create()
                    .name("media_assets_tenant")
                    .table(MediaAssets::Table)
                    .col(MediaAssets::TenantId)
                    .col(MediaAssets::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("media_assets_bytes")
                    .table(MediaAssets::Table)
                    .col(MediaAssets::TenantId)
                    .col(MediaAssets::Sha256)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MediaVariants::Table)
                    .col(text(MediaVariants::TenantId))
                    .col(text(MediaVariants::Sha256))
                    .col(text(MediaVariants::Params))
                    .col(text(MediaVariants::Mime))
                    .col(big(MediaVariants::Size))
                    .col(big(MediaVariants::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(MediaVariants::TenantId)
                            .col(MediaVariants::Sha256)
                            .col(MediaVariants::Params),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(MediaVariants::Table, MediaVariants::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MediaVariants::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(MediaAssets::Table).to_owned())
            .await
    }
}
