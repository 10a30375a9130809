//! Who may do what (SPEC §4): principals, token kinds, roles, actions, and the one decision
//! function that GraphQL, the admin REST API and CLI-created tokens all go through.
//!
//! Pure data and pure functions: no I/O here. A tenant's narrowing rules travel with its
//! `TenantCtx`; the ownership check for authors (which needs the entry) is `auth::authorize_entry`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError};

/// What an API token may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Read published content.
    Public,
    /// Also read drafts.
    Preview,
    /// Write and publish content.
    Editor,
    /// Everything in its tenant.
    Admin,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Public => "public",
            TokenKind::Preview => "preview",
            TokenKind::Editor => "editor",
            TokenKind::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "public" => TokenKind::Public,
            "preview" => TokenKind::Preview,
            "editor" => TokenKind::Editor,
            "admin" => TokenKind::Admin,
            _ => return None,
        })
    }
}

/// Roles of a tenant's users.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in the tenant, including users, tokens and settings.
    Admin,
    /// Writes and publishes any content.
    Editor,
    /// Writes own entries, reads drafts, never publishes.
    Author,
    /// Reads content, drafts included.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Editor, Role::Author, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Author => "author",
            Role::Viewer => "viewer",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An action on the entries of one content type.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Read,
    ReadDrafts,
    Create,
    Update,
    Delete,
    Publish,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Read,
        Action::ReadDrafts,
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Publish,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::ReadDrafts => "read-drafts",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Publish => "publish",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Tenant administration, beyond content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    /// Create, change and delete content types.
    ContentTypes,
    Users,
    Tokens,
    Settings,
    Audit,
    /// Enable, configure and upload the tenant's plugins.
    Plugins,
    /// Webhook endpoints and their deliveries.
    Webhooks,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credentials; allowed only where the tenant permits anonymous reads.
    Anonymous,
    /// An API token of the request's tenant.
    Token { id: String, kind: TokenKind },
    /// A logged-in user of the request's tenant.
    User {
        id: String,
        role: Role,
        session: String,
    },
    /// A logged-in platform operator: manages tenants, not their content.
    Operator { id: String, session: String },
}

impl Principal {
    /// How writes are attributed (`createdBy`, `updatedBy`, the audit log).
    pub fn actor(&self) -> Option<String> {
        match self {
            Principal::Anonymous => None,
            Principal::Token { id, .. } => Some(format!("token:{id}")),
            Principal::User { id, .. } => Some(format!("user:{id}")),
            Principal::Operator { id, .. } => Some(format!("operator:{id}")),
        }
    }

    /// The actor for the audit log, `anonymous` when there is none.
    pub fn audit_actor(&self) -> String {
        self.actor().unwrap_or_else(|| "anonymous".to_owned())
    }

    /// A short name for the kind of credential, for logs and `GET /auth/me`.
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::Token { .. } => "token",
            Principal::User { .. } => "user",
            Principal::Operator { .. } => "operator",
        }
    }
}

/// Which entries an allowed action covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Any,
    /// Only entries the principal created (authors).
    Own,
}

impl Scope {
    /// The account whose entries a read is limited to: an author reads its own drafts only.
    /// (`Own` is only ever granted to users, who have an account; without one nothing matches.)
    pub fn owner(self, principal: &Principal) -> Option<String> {
        match self {
            Scope::Any => None,
            Scope::Own => Some(principal.actor().unwrap_or_default()),
        }
    }
}

/// A refusal, with the code the surfaces render (`UNAUTHENTICATED` or `FORBIDDEN`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    pub code: ErrorCode,
    pub message: String,
}

impl Denied {
    fn unauthenticated(message: impl Into<String>) -> Self {
        Denied {
            code: ErrorCode::Unauthenticated,
            message: message.into(),
        }
    }
    fn forbidden(message: impl Into<String>) -> Self {
        Denied {
            code: ErrorCode::Forbidden,
            message: message.into(),
        }
    }
}

/// A tenant's narrowing of its roles per content type (tenant setting `permissions`):
/// `{"author": {"event": ["read", "read-drafts"]}}` leaves authors only those actions on events.
/// Narrowing never widens a role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Narrowing(BTreeMap<Role, BTreeMap<String, BTreeSet<Action>>>);

impl Narrowing {
    /// Parses the setting, naming the offending path on error.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut out = BTreeMap::new();
        let Some(roles) = value.as_object() else {
            return Err(vec![FieldError::new(
                "permissions",
                "type",
                "an object keyed by role",
            )]);
        };
        for (role_name, types) in roles {
            let path = format!("permissions.{role_name}");
            let Some(role) = Role::parse(role_name) else {
                errors.push(FieldError::new(
                    path,
                    "enum",
                    "a role: admin, editor, author or viewer",
                ));
                continue;
            };
            let Some(types) = types.as_object() else {
                errors.push(FieldError::new(
                    path,
                    "type",
                    "an object keyed by content type",
                ));
                continue;
            };
            let mut per_type = BTreeMap::new();
            for (type_name, actions) in types {
                let path = format!("permissions.{role_name}.{type_name}");
                let Some(list) = actions.as_array() else {
                    errors.push(FieldError::new(path, "type", "a list of actions"));
                    continue;
                };
                let mut set = BTreeSet::new();
                for (i, a) in list.iter().enumerate() {
                    match a.as_str().and_then(Action::parse) {
                        Some(a) => {
                            set.insert(a);
                        }
                        None => errors.push(FieldError::new(
                            format!("{path}[{i}]"),
                            "enum",
                            "one of read, read-drafts, create, update, delete, publish",
                        )),
                    }
                }
                per_type.insert(type_name.clone(), set);
            }
            out.insert(role, per_type);
        }
        if errors.is_empty() {
            Ok(Narrowing(out))
        } else {
            Err(errors)
        }
    }

    /// The content types the rules name, to check they exist.
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.0.values().flat_map(|m| m.keys().map(String::as_str))
    }

    fn allows(&self, role: Role, type_name: &str, action: Action) -> bool {
        self.0
            .get(&role)
            .and_then(|m| m.get(type_name))
            .is_none_or(|set| set.contains(&action))
    }
}

/// What a role may do before any narrowing.
fn role_grant(role: Role, action: Action) -> Option<Scope> {
    use Action::*;
    match (role, action) {
        (Role::Admin | Role::Editor, _) => Some(Scope::Any),
        (Role::Author, Read | Create) => Some(Scope::Any),
        (Role::Author, ReadDrafts | Update | Delete) => Some(Scope::Own),
        (Role::Author, Publish) => None,
        (Role::Viewer, Read | ReadDrafts) => Some(Scope::Any),
        (Role::Viewer, _) => None,
    }
}

fn token_grant(kind: TokenKind, action: Action) -> bool {
    match kind {
        TokenKind::Public => action == Action::Read,
        TokenKind::Preview => matches!(action, Action::Read | Action::ReadDrafts),
        TokenKind::Editor | TokenKind::Admin => true,
    }
}

/// The one content permission check: may `principal` do `action` on entries of `type_name`
/// in a tenant that allows anonymous reads or not and narrows roles by `narrowing`?
pub fn check_content(
    anonymous_read: bool,
    narrowing: &Narrowing,
    principal: &Principal,
    type_name: &str,
    action: Action,
) -> Result<Scope, Denied> {
    let what = action.as_str();
    match principal {
        Principal::Anonymous if action == Action::Read && anonymous_read => Ok(Scope::Any),
        Principal::Anonymous => Err(Denied::unauthenticated(format!(
            "`{what}` on `{type_name}` needs credentials (Authorization: Bearer …)"
        ))),
        Principal::Token { kind, .. } if token_grant(*kind, action) => Ok(Scope::Any),
        Principal::Token { kind, .. } => Err(Denied::forbidden(format!(
            "a {} token may not `{what}` `{type_name}` entries",
            kind.as_str()
        ))),
        Principal::User { role, .. } => match role_grant(*role, action) {
            Some(scope) if narrowing.allows(*role, type_name, action) => Ok(scope),
            _ => Err(Denied::forbidden(format!(
                "the {} role may not `{what}` `{type_name}` entries",
                role.as_str()
            ))),
        },
        Principal::Operator { .. } => Err(Denied::forbidden(
            "platform operators manage tenants, not their content; use a tenant account",
        )),
    }
}

/// Tenant administration: admin tokens and admin users only.
pub fn check_admin(principal: &Principal, what: Admin) -> Result<(), Denied> {
    match principal {
        Principal::Token {
            kind: TokenKind::Admin,
            ..
        }
        | Principal::User {
            role: Role::Admin, ..
        } => Ok(()),
        Principal::Anonymous => Err(Denied::unauthenticated(
            "this needs credentials (Authorization: Bearer …)",
        )),
        _ => Err(Denied::forbidden(format!(
            "managing {} needs a tenant admin",
            match what {
                Admin::ContentTypes => "content types",
                Admin::Users => "users",
                Admin::Tokens => "API tokens",
                Admin::Settings => "settings",
                Admin::Audit => "the audit log",
                Admin::Plugins => "plugins",
                Admin::Webhooks => "webhooks",
            }
        ))),
    }
}

/// What one may do with the media library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaAction {
    /// List and read every asset's metadata and bytes, private ones included.
    Read,
    Upload,
    /// Change metadata; authors only of what they uploaded.
    Edit,
    /// Delete; authors only what they uploaded.
    Delete,
}

/// The media library follows the content roles: whoever may read drafts may browse the
/// library; whoever may write content may upload; editors and admins manage every asset,
/// authors their own (`owner` is the asset's `createdBy`). Public tokens and anonymous readers
/// see only assets that published entries use or that are marked public (`GET /media/…`).
pub fn check_media(
    principal: &Principal,
    action: MediaAction,
    owner: Option<&str>,
) -> Result<(), Denied> {
    let own = || owner.is_some() && owner == principal.actor().as_deref();
    let allowed = match principal {
        Principal::Anonymous => {
            return Err(Denied::unauthenticated(
                "the media library needs credentials (Authorization: Bearer …)",
            ));
        }
        Principal::Operator { .. } => false,
        Principal::Token { kind, .. } => match kind {
            TokenKind::Admin | TokenKind::Editor => true,
            TokenKind::Preview => action == MediaAction::Read,
            TokenKind::Public => false,
        },
        Principal::User { role, .. } => match role {
            Role::Admin | Role::Editor => true,
            Role::Author => match action {
                MediaAction::Read | MediaAction::Upload => true,
                MediaAction::Edit | MediaAction::Delete => own(),
            },
            Role::Viewer => action == MediaAction::Read,
        },
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied::forbidden(match action {
            MediaAction::Read => "browsing the media library needs a role that reads drafts",
            MediaAction::Upload => "uploading needs a role that writes content",
            MediaAction::Edit | MediaAction::Delete => {
                "changing this asset needs an editor, an admin or the author who uploaded it"
            }
        }))
    }
}

/// Platform administration (tenants): operators only.
pub fn check_operator(principal: &Principal) -> Result<&str, Denied> {
    match principal {
        Principal::Operator { id, .. } => Ok(id),
        Principal::Anonymous => Err(Denied::unauthenticated(
            "managing tenants needs an operator session",
        )),
        _ => Err(Denied::forbidden(
            "managing tenants needs an operator session",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> Principal {
        Principal::User {
            id: "u".into(),
            role,
            session: "s".into(),
        }
    }

    #[test]
    fn roles_follow_the_spec() {
        let n = Narrowing::default();
        let ok = |p: &Principal, a| check_content(false, &n, p, "article", a);
        assert_eq!(ok(&user(Role::Author), Action::Update), Ok(Scope::Own));
        assert!(ok(&user(Role::Author), Action::Publish).is_err());
        assert!(ok(&user(Role::Viewer), Action::ReadDrafts).is_ok());
        assert!(ok(&user(Role::Viewer), Action::Create).is_err());
        let public = Principal::Token {
            id: "t".into(),
            kind: TokenKind::Public,
        };
        assert!(ok(&public, Action::Read).is_ok());
        assert_eq!(
            ok(&public, Action::ReadDrafts).map_err(|d| d.code),
            Err(ErrorCode::Forbidden)
        );
        assert_eq!(
            ok(&Principal::Anonymous, Action::Read).map_err(|d| d.code),
            Err(ErrorCode::Unauthenticated)
        );
        assert!(check_content(true, &n, &Principal::Anonymous, "article", Action::Read).is_ok());
    }

    #[test]
    fn narrowing_only_narrows() {
        let n = Narrowing::from_json(&serde_json::json!({
            "editor": { "event": ["read", "read-drafts", "update"] },
            "viewer": { "event": ["read", "create"] }
        }))
        .expect("valid");
        let check = |r, t, a| check_content(false, &n, &user(r), t, a).is_ok();
        assert!(!check(Role::Editor, "event", Action::Publish));
        assert!(check(Role::Editor, "event", Action::Update));
        assert!(check(Role::Editor, "article", Action::Publish));
        // Listing `create` for viewers does not give it to them.
        assert!(!check(Role::Viewer, "event", Action::Create));
    }

    #[test]
    fn narrowing_errors_name_the_path() {
        let err = Narrowing::from_json(&serde_json::json!({
            "boss": {}, "author": { "event": ["read", "fly"] }
        }))
        .expect_err("invalid");
        let paths: Vec<_> = err.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["permissions.boss", "permissions.author.event[1]"]);
    }
}
