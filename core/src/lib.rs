//! Zellige: a multi-tenant headless CMS.
//!
//! Data flows one way: `cli` / `http` → `tenancy` (the tenant context) → `content` (the service)
//! → `store` (SQL on SQLite or PostgreSQL). Lower layers never name types of the layers above.

pub mod access;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod content;
pub mod demo;
pub mod error;
pub mod graphql;
pub mod http;
pub mod media;
pub mod plugins;
pub mod retention;
pub mod search;
pub mod store;
pub mod telemetry;
pub mod tenancy;
pub mod time;
pub mod webhooks;

pub use config::Config;
pub use error::{ErrorCode, FieldError};
