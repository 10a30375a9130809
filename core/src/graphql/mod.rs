//! GraphQL (SPEC §6): a schema per tenant, generated from its content types with
//! `async_graphql::dynamic`, cached per schema version, executed by the HTTP handler.
//!
//! Resolvers reach content only through the content service, with the tenant and principal of
//! the request (attached as request data, never schema data).

pub mod builder;
pub mod checks;
pub mod loader;
pub mod names;
pub mod registry;

use async_graphql::ErrorExtensions;

use crate::auth::TokenKind;
use crate::content::{Content, ContentError};
use crate::error::{ErrorCode, FieldError};
use crate::store::entries::Stage;
use crate::tenancy::TenantCtx;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credentials; allowed only where the tenant permits anonymous reads.
    Anonymous,
    Token {
        id: String,
        kind: TokenKind,
    },
}

impl Principal {
    pub fn can_read_drafts(&self) -> bool {
        matches!(self, Principal::Token { kind, .. } if kind.can_read_drafts())
    }
    pub fn can_write(&self) -> bool {
        matches!(self, Principal::Token { kind, .. } if kind.can_write())
    }
    pub fn actor(&self) -> Option<String> {
        match self {
            Principal::Token { id, .. } => Some(format!("token:{id}")),
            Principal::Anonymous => None,
        }
    }
}

/// Per-request data every resolver reads.
pub struct RequestCtx {
    pub tenant: TenantCtx,
    pub principal: Principal,
    pub content: Content,
    pub loader: async_graphql::dataloader::DataLoader<loader::EntryLoader>,
    /// Whether the tenant lets anonymous clients read published content.
    pub anonymous_read: bool,
}

impl RequestCtx {
    pub fn new(
        tenant: TenantCtx,
        principal: Principal,
        content: Content,
        anonymous_read: bool,
    ) -> Self {
        let loader = async_graphql::dataloader::DataLoader::new(
            loader::EntryLoader {
                tenant: tenant.clone(),
                content: content.clone(),
            },
            tokio::spawn,
        );
        RequestCtx {
            tenant,
            principal,
            content,
            loader,
            anonymous_read,
        }
    }

    /// Checks that the principal may read the given stage.
    pub fn authorize_read(&self, stage: Stage) -> Result<(), async_graphql::Error> {
        match (stage, &self.principal) {
            (Stage::Draft, p) if !p.can_read_drafts() => Err(coded(
                ErrorCode::Forbidden,
                "reading drafts needs a preview, editor or admin token",
            )),
            (Stage::Published, Principal::Anonymous) if !self.anonymous_read => Err(coded(
                ErrorCode::Unauthenticated,
                "this tenant needs an API token (Authorization: Bearer zlg_…)",
            )),
            _ => Ok(()),
        }
    }

    pub fn authorize_write(&self) -> Result<(), async_graphql::Error> {
        match &self.principal {
            Principal::Anonymous => Err(coded(
                ErrorCode::Unauthenticated,
                "writing needs an editor or admin token",
            )),
            p if !p.can_write() => Err(coded(
                ErrorCode::Forbidden,
                "writing needs an editor or admin token",
            )),
            _ => Ok(()),
        }
    }
}

/// A GraphQL error with `extensions.code`.
pub fn coded(code: ErrorCode, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}

/// Field-level details as `extensions.fields`.
pub(crate) fn with_fields(
    err: async_graphql::Error,
    fields: &[FieldError],
) -> async_graphql::Error {
    if fields.is_empty() {
        return err;
    }
    let list: Vec<async_graphql::Value> = fields
        .iter()
        .map(|f| {
            let mut m = async_graphql::indexmap::IndexMap::new();
            m.insert(
                async_graphql::Name::new("path"),
                async_graphql::Value::from(f.path.clone()),
            );
            m.insert(
                async_graphql::Name::new("rule"),
                async_graphql::Value::from(f.rule.clone()),
            );
            m.insert(
                async_graphql::Name::new("message"),
                async_graphql::Value::from(f.message.clone()),
            );
            async_graphql::Value::Object(m)
        })
        .collect();
    err.extend_with(|_, e| e.set("fields", async_graphql::Value::List(list.clone())))
}

/// The one conversion from content errors to GraphQL errors.
pub fn content_error(e: ContentError) -> async_graphql::Error {
    let code = e.code();
    if code == ErrorCode::Internal {
        tracing::error!(error = ?e, "internal error in a GraphQL resolver");
        return coded(code, "internal error");
    }
    let message = match &e {
        ContentError::Invalid(fields) => {
            format!("invalid input: {}", crate::error::describe_fields(fields))
        }
        other => other.to_string(),
    };
    with_fields(coded(code, message), e.fields())
}
