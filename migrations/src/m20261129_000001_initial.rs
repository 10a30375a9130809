//! The initial schema: tenants, content types, entries (documents + indexed side table),
//! versions, the outbox and its consumers, API tokens and users.
//!
//! Storage design (see also `core/src/store/mod.rs`): tenant content is data, not tables. An
//! entry is stored as up to two documents in `entry_docs` (stage 0 = draft, the working copy;
//! stage 1 = published), each a JSON text column plus the system fields as real columns. Every
//! filterable, sortable, unique or reference field is copied into `entry_fields` as one row per
//! (stage, field, locale, value) with the value encoded so that byte order is value order; one
//! composite index `(tenant_id, type, stage, field, locale, v, entry_id)` then serves equality,
//! range, prefix and ordered scans on both databases. `v` uses the "C" collation on PostgreSQL
//! so that both backends compare bytes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    Locales,
    DefaultLocale,
    Domains,
    Settings,
    SchemaVersion,
    EventSeq,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ContentTypes {
    Table,
    TenantId,
    Name,
    Definition,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EntryDocs {
    Table,
    EntryId,
    Stage,
    TenantId,
    Type,
    Slug,
    Version,
    Data,
    Locales,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
    CreatedBy,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum EntryFields {
    Table,
    TenantId,
    Type,
    Stage,
    EntryId,
    Field,
    Locale,
    V,
}

#[derive(DeriveIden)]
enum EntryVersions {
    Table,
    EntryId,
    Version,
    TenantId,
    Type,
    Action,
    Status,
    Slug,
    Data,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Seq,
    TenantId,
    TenantSeq,
    Kind,
    EntryType,
    EntryId,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxConsumers {
    Table,
    Consumer,
    TenantId,
    Position,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    TenantId,
    Kind,
    Name,
    Prefix,
    Hash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TenantId,
    Email,
    Role,
    PasswordHash,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

fn text(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}

fn big(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

fn tenant_fk<T: IntoIden + 'static>(table: T, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();

        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(text(Tenants::Id).primary_key())
                    .col(text(Tenants::Slug).unique_key())
                    .col(text(Tenants::Name))
                    .col(text(Tenants::Locales))
                    .col(text(Tenants::DefaultLocale))
                    .col(text(Tenants::Domains))
                    .col(text(Tenants::Settings))
                    .col(big(Tenants::SchemaVersion).default(1))
                    .col(big(Tenants::EventSeq).default(0))
                    .col(big(Tenants::CreatedAt))
                    .col(big(Tenants::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ContentTypes::Table)
                    .col(text(ContentTypes::TenantId))
                    .col(text(ContentTypes::Name))
                    .col(text(ContentTypes::Definition))
                    .col(big(ContentTypes::CreatedAt))
                    .col(big(ContentTypes::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(ContentTypes::TenantId)
                            .col(ContentTypes::Name),
                    )
                    .foreign_key(&mut tenant_fk(ContentTypes::Table, ContentTypes::TenantId))
                    .to_owned(),
            )
            .await?;

        // Slugs are compared by ranges (`base`, `base-2`, …): byte order on both backends.
        let mut slug_col = text(EntryDocs::Slug);
        if backend == DbBackend::Postgres {
            slug_col.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(EntryDocs::Table)
                    .col(text(EntryDocs::EntryId))
                    .col(ColumnDef::new(EntryDocs::Stage).small_integer().not_null())
                    .col(text(EntryDocs::TenantId))
                    .col(text(EntryDocs::Type))
                    .col(slug_col)
                    .col(big(EntryDocs::Version))
                    .col(text(EntryDocs::Data))
                    .col(text(EntryDocs::Locales))
                    .col(big(EntryDocs::CreatedAt))
                    .col(big(EntryDocs::UpdatedAt))
                    .col(big(EntryDocs::PublishedAt))
                    .col(ColumnDef::new(EntryDocs::CreatedBy).text().null())
                    .col(ColumnDef::new(EntryDocs::UpdatedBy).text().null())
                    .primary_key(
                        Index::create()
                            .col(EntryDocs::TenantId)
                            .col(EntryDocs::EntryId)
                            .col(EntryDocs::Stage),
                    )
                    .foreign_key(&mut tenant_fk(EntryDocs::Table, EntryDocs::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_entry_docs_slug")
                    .table(EntryDocs::Table)
                    .col(EntryDocs::TenantId)
                    .col(EntryDocs::Type)
                    .col(EntryDocs::Stage)
                    .col(EntryDocs::Slug)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_entry_docs_id", None),
            ("ix_entry_docs_created", Some(EntryDocs::CreatedAt)),
            ("ix_entry_docs_updated", Some(EntryDocs::UpdatedAt)),
            ("ix_entry_docs_published", Some(EntryDocs::PublishedAt)),
        ] {
            let mut index = Index::create();
            index
                .name(name)
                .table(EntryDocs::Table)
                .col(EntryDocs::TenantId)
                .col(EntryDocs::Type)
                .col(EntryDocs::Stage);
            if let Some(col) = col {
                index.col(col);
            }
            index.col(EntryDocs::EntryId);
            manager.create_index(index.to_owned()).await?;
        }

        let mut value_col = ColumnDef::new(EntryFields::V);
        value_col.text().not_null();
        if backend == DbBackend::Postgres {
            // Byte order on both backends: SQLite's default BINARY collation does the same.
            value_col.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table(EntryFields::Table)
                    .col(text(EntryFields::TenantId))
                    .col(text(EntryFields::Type))
                    .col(
                        ColumnDef::new(EntryFields::Stage)
                            .small_integer()
                            .not_null(),
                    )
                    .col(text(EntryFields::EntryId))
                    .col(text(EntryFields::Field))
                    .col(text(EntryFields::Locale))
                    .col(value_col)
                    .primary_key(
                        Index::create()
                            .col(EntryFields::TenantId)
                            .col(EntryFields::EntryId)
                            .col(EntryFields::Stage)
                            .col(EntryFields::Field)
                            .col(EntryFields::Locale)
                            .col(EntryFields::V),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_entry_fields_lookup")
                    .table(EntryFields::Table)
                    .col(EntryFields::TenantId)
                    .col(EntryFields::Type)
                    .col(EntryFields::Stage)
                    .col(EntryFields::Field)
                    .col(EntryFields::Locale)
                    .col(EntryFields::V)
                    .col(EntryFields::EntryId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EntryVersions::Table)
                    .col(text(EntryVersions::EntryId))
                    .col(big(EntryVersions::Version))
                    .col(text(EntryVersions::TenantId))
                    .col(text(EntryVersions::Type))
                    .col(text(EntryVersions::Action))
                    .col(text(EntryVersions::Status))
                    .col(text(EntryVersions::Slug))
                    .col(text(EntryVersions::Data))
                    .col(big(EntryVersions::CreatedAt))
                    .col(ColumnDef::new(EntryVersions::CreatedBy).text().null())
                    .primary_key(
                        Index::create()
                            .col(EntryVersions::TenantId)
                            .col(EntryVersions::EntryId)
                            .col(EntryVersions::Version),
                    )
                    .foreign_key(&mut tenant_fk(
                        EntryVersions::Table,
                        EntryVersions::TenantId,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(
                        ColumnDef::new(Outbox::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(text(Outbox::TenantId))
                    .col(big(Outbox::TenantSeq))
                    .col(text(Outbox::Kind))
                    .col(ColumnDef::new(Outbox::EntryType).text().null())
                    .col(ColumnDef::new(Outbox::EntryId).text().null())
                    .col(text(Outbox::Payload))
                    .col(big(Outbox::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_outbox_tenant_seq")
                    .table(Outbox::Table)
                    .col(Outbox::TenantId)
                    .col(Outbox::TenantSeq)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OutboxConsumers::Table)
                    .col(text(OutboxConsumers::Consumer))
                    .col(text(OutboxConsumers::TenantId))
                    .col(big(OutboxConsumers::Position))
                    .col(big(OutboxConsumers::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(OutboxConsumers::Consumer)
                            .col(OutboxConsumers::TenantId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(text(ApiTokens::Id).primary_key())
                    .col(text(ApiTokens::TenantId))
                    .col(text(ApiTokens::Kind))
                    .col(text(ApiTokens::Name))
                    .col(text(ApiTokens::Prefix))
                    .col(text(ApiTokens::Hash).unique_key())
                    .col(big(ApiTokens::CreatedAt))
                    .col(ColumnDef::new(ApiTokens::ExpiresAt).big_integer().null())
                    .col(ColumnDef::new(ApiTokens::RevokedAt).big_integer().null())
                    .col(ColumnDef::new(ApiTokens::LastUsedAt).big_integer().null())
                    .foreign_key(&mut tenant_fk(ApiTokens::Table, ApiTokens::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_api_tokens_tenant")
                    .table(ApiTokens::Table)
                    .col(ApiTokens::TenantId)
                    .col(ApiTokens::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(text(Users::Id).primary_key())
                    .col(text(Users::TenantId))
                    .col(text(Users::Email))
                    .col(text(Users::Role))
                    .col(text(Users::PasswordHash))
                    .col(
                        ColumnDef::new(Users::Disabled)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(big(Users::CreatedAt))
                    .col(big(Users::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Users::Table, Users::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_users_tenant_email")
                    .table(Users::Table)
                    .col(Users::TenantId)
                    .col(Users::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
