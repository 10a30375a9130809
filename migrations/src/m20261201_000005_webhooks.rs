//! Webhooks: endpoints per tenant and their deliveries.
//!
//! `webhooks` holds an endpoint: URL, the events it wants (JSON list of `<type>.<event>`
//! patterns), its signing secret and, during a rotation, the previous secret until it expires,
//! and `since_seq`, the tenant's outbox sequence when it was created (it receives what follows).
//! `webhook_deliveries` holds one row per (endpoint, outbox event): written by the fan-out in
//! the same transaction that moves its outbox position (so none is lost or doubled), then
//! attempted by the delivery worker, which claims a row with a lease (`lease_until`) so that
//! one node sends it at a time, and keeps the last attempt's outcome for the delivery log.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    TenantId,
    Url,
    Description,
    Enabled,
    Events,
    Secret,
    PreviousSecret,
    PreviousUntil,
    FailingSince,
    SinceSeq,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    TenantId,
    TenantSeq,
    Event,
    EntryId,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LastStatus,
    LastDurationMs,
    LastResponse,
    LastError,
    CreatedAt,
    DeliveredAt,
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
                    .table(Webhooks::Table)
                    .col(text(Webhooks::Id).primary_key())
                    .col(text(Webhooks::TenantId))
                    .col(text(Webhooks::Url))
                    .col(text(Webhooks::Description))
                    .col(ColumnDef::new(Webhooks::Enabled).boolean().not_null())
                    .col(text(Webhooks::Events))
                    .col(text(Webhooks::Secret))
                    .col(ColumnDef::new(Webhooks::PreviousSecret).text().null())
                    .col(ColumnDef::new(Webhooks::PreviousUntil).big_integer().null())
                    .col(ColumnDef::new(Webhooks::FailingSince).big_integer().null())
                    .col(big(Webhooks::SinceSeq))
                    .col(big(Webhooks::CreatedAt))
                    .col(big(Webhooks::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Webhooks::Table, Webhooks::TenantId)
                            .to(Tenants::Table, Tenants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(text(WebhookDeliveries::Id).primary_key())
                    .col(text(WebhookDeliveries::WebhookId))
                    .col(text(WebhookDeliveries::TenantId))
                    .col(big(WebhookDeliveries::TenantSeq))
                    .col(text(WebhookDeliveries::Event))
                    .col(ColumnDef::new(WebhookDeliveries::EntryId).text().null())
                    .col(text(WebhookDeliveries::Payload))
                    .col(text(WebhookDeliveries::Status))
                    .col(
                        ColumnDef::new(WebhookDeliveries::Attempts)
                            .integer()
                            .not_null(),
                    )
                    .col(big(WebhookDeliveries::NextAttemptAt))
                    .col(
                        ColumnDef::new(WebhookDeliveries::LeaseUntil)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::LastStatus)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::LastDurationMs)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WebhookDeliveries::LastResponse)
                            .text()
                            .null(),
                    )
                    .col(ColumnDef::new(WebhookDeliveries::LastError).text().null())
                    .col(big(WebhookDeliveries::CreatedAt))
                    .col(
                        ColumnDef::new(WebhookDeliveries::DeliveredAt)
                            .big_integer()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One delivery per endpoint and event, whatever happens to the fan-out.
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_event")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::TenantSeq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }
}
