//! The value index keeps an empty row for "no value" only for sortable fields.
//!
//! Every indexed field used to get an empty row when an entry had no value of it, so that
//! sorts and `isNull` saw every entry; half of an article's rows were such rows, and writing
//! them was a quarter of PostgreSQL's work per create. A sorted page still needs them (it walks
//! the sort field's rows in order), nothing else does: `isNull`, the empty group of an
//! aggregate and an empty string in a filter now look for the absence of a row with a value.
//! This removes the empty rows of the other fields; the queries read both forms, so the
//! migration may run on a live database.
//!
//! `down` leaves the rows as they are: the previous release's `isNull` (`v = ''`) would miss
//! the entries written since, until their type is saved again (which rebuilds its index).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let types = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT tenant_id, name, definition FROM content_types",
            ))
            .await?;
        for row in types {
            let tenant: String = row.try_get("", "tenant_id")?;
            let name: String = row.try_get("", "name")?;
            let definition: String = row.try_get("", "definition")?;
            let sortable = sortable_fields(&definition).map_err(|e| {
                DbErr::Migration(format!("content type {name} of tenant {tenant}: {e}"))
            })?;
            let mut sql = String::from(
                "DELETE FROM entry_fields WHERE tenant_id = $1 AND type = $2 AND v = ''",
            );
            let mut values: Vec<Value> = vec![tenant.into(), name.into()];
            if !sortable.is_empty() {
                let marks: Vec<String> =
                    (0..sortable.len()).map(|i| format!("${}", i + 3)).collect();
                sql.push_str(&format!(" AND field NOT IN ({})", marks.join(", ")));
                values.extend(sortable.into_iter().map(Value::from));
            }
            if backend == sea_orm::DbBackend::Sqlite {
                sql = sql.replace('$', "?");
            }
            db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

/// The names of a stored content type's sortable fields.
fn sortable_fields(definition: &str) -> Result<Vec<String>, serde_json::Error> {
    let def: serde_json::Value = serde_json::from_str(definition)?;
    Ok(def["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter(|f| f["sortable"].as_bool() == Some(true))
                .filter_map(|f| f["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_fields_are_read_from_the_stored_definition() {
        let def = r#"{"name":"article","fields":[
            {"name":"title","type":"string","localized":true,"sortable":true},
            {"name":"province","type":"string","filterable":true},
            {"name":"city","type":"string","filterable":true,"sortable":true}]}"#;
        assert_eq!(sortable_fields(def).expect("json"), ["title", "city"]);
        assert!(sortable_fields("{").is_err());
    }
}
