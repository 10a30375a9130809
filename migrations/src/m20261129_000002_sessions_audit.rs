//! Sessions, platform operators and the audit log.
//!
//! `sessions` hold login sessions of tenant users and of operators (SHA-256 of the opaque token
//! only). `tenant_id` is NULL for operator sessions, so it has no foreign key; tenant deletion
//! removes a tenant's sessions and audit rows explicitly. `audit_log` ids are UUIDv7, so id
//! order is time order and the `(tenant_id, id)` index serves newest-first pages.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Hash,
    Subject,
    UserId,
    TenantId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum Operators {
    Table,
    Id,
    Email,
    PasswordHash,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    TenantId,
    At,
    Actor,
    Action,
    Target,
    Detail,
    Client,
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
                    .table(Sessions::Table)
                    .col(text(Sessions::Id).primary_key())
                    .col(text(Sessions::Hash).unique_key())
                    .col(text(Sessions::Subject))
                    .col(text(Sessions::UserId))
                    .col(ColumnDef::new(Sessions::TenantId).text().null())
                    .col(big(Sessions::CreatedAt))
                    .col(big(Sessions::ExpiresAt))
                    .col(ColumnDef::new(Sessions::RevokedAt).big_integer().null())
                    .col(ColumnDef::new(Sessions::LastUsedAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sessions_tenant_user")
                    .table(Sessions::Table)
                    .col(Sessions::TenantId)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Operators::Table)
                    .col(text(Operators::Id).primary_key())
                    .col(text(Operators::Email).unique_key())
                    .col(text(Operators::PasswordHash))
                    .col(
                        ColumnDef::new(Operators::Disabled)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(big(Operators::CreatedAt))
                    .col(big(Operators::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(text(AuditLog::Id).primary_key())
                    .col(ColumnDef::new(AuditLog::TenantId).text().null())
                    .col(big(AuditLog::At))
                    .col(text(AuditLog::Actor))
                    .col(text(AuditLog::Action))
                    .col(text(AuditLog::Target))
                    .col(text(AuditLog::Detail))
                    .col(ColumnDef::new(AuditLog::Client).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_tenant")
                    .table(AuditLog::Table)
                    .col(AuditLog::TenantId)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            Operators::Table.into_iden(),
            Sessions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
