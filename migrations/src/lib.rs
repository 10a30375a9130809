//! Every schema change of the Zellige store, for SQLite and PostgreSQL.
//!
//! Owned by nobody but itself: the `zellige` binary (`migrate`, `serve`) and the tests call
//! [`Migrator`]. A released migration is never edited; a change is a new file.

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_initial;
mod m20261129_000002_sessions_audit;
mod m20261201_000003_plugins;
mod m20261201_000004_schedules;
mod m20261201_000005_webhooks;
mod m20261201_000006_media;
mod m20261201_000007_media_keys;
mod m20261202_000008_plugin_wasm;
mod m20261204_000009_plugins_rev;
mod m20261205_000010_entry_probe;
mod m20261205_000011_absent_values;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_initial::Migration),
            Box::new(m20261129_000002_sessions_audit::Migration),
            Box::new(m20261201_000003_plugins::Migration),
            Box::new(m20261201_000004_schedules::Migration),
            Box::new(m20261201_000005_webhooks::Migration),
            Box::new(m20261201_000006_media::Migration),
            Box::new(m20261201_000007_media_keys::Migration),
            Box::new(m20261202_000008_plugin_wasm::Migration),
            Box::new(m20261204_000009_plugins_rev::Migration),
            Box::new(m20261205_000010_entry_probe::Migration),
            Box::new(m20261205_000011_absent_values::Migration),
        ]
    }
}
