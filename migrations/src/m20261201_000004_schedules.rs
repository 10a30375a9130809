//! Scheduled publishing: at most one pending `publish` and one pending `unpublish` per entry.
//!
//! A row is removed in the same transaction that carries it out (under the tenant's write
//! lock), so a schedule fires once whatever the number of nodes. `due_at` is UTC milliseconds;
//! the index on it serves the scheduler's "what is due" scan across tenants. A schedule that
//! could not be carried out (the draft no longer valid) stays with `failure` set, for the
//! schedule view to show.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EntrySchedules {
    Table,
    TenantId,
    EntryId,
    EntryType,
    Action,
    DueAt,
    CreatedBy,
    CreatedAt,
    Failure,
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EntrySchedules::Table)
                    .col(ColumnDef::new(EntrySchedules::TenantId).text().not_null())
                    .col(ColumnDef::new(EntrySchedules::EntryId).text().not_null())
                    .col(ColumnDef::new(EntrySchedules::EntryType).text().not_null())
                    .col(ColumnDef::new(EntrySchedules::Action).text().not_null())
                    .col(
                        ColumnDef::new(EntrySchedules::DueAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(EntrySchedules::CreatedBy).text().null())
                    .col(
                        ColumnDef::new(EntrySchedules::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(EntrySchedules::Failure).text().null())
                    .primary_key(
                        Index::create()
                            .col(EntrySchedules::TenantId)
                            .col(EntrySchedules::EntryId)
                            .col(EntrySchedules::Action),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EntrySchedules::Table, EntrySchedules::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("entry_schedules_due")
                    .table(EntrySchedules::Table)
                    .col(EntrySchedules::DueAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EntrySchedules::Table).to_owned())
            .await
    }
}
