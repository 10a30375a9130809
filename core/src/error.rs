//! The one table of error codes (SPEC §6) shared by every surface, and the field-level error
//! detail that validation produces. Each layer has its own `thiserror` enum that maps into a code.

use serde::Serialize;

/// Every code a client can see, with its HTTP status. Nothing else is ever sent to a client.
/// These are SPEC §6's codes plus `RATE_LIMITED` (429), which login throttling needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadUserInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    UnknownTenant,
    QueryTooComplex,
    RateLimited,
    PluginError,
    PluginTimeout,
    PluginLimit,
    SearchUnavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::BadUserInput,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::UnknownTenant,
        ErrorCode::QueryTooComplex,
        ErrorCode::RateLimited,
        ErrorCode::PluginError,
        ErrorCode::PluginTimeout,
        ErrorCode::PluginLimit,
        ErrorCode::SearchUnavailable,
        ErrorCode::Internal,
    ];

    /// The wire name, as in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::UnknownTenant => "UNKNOWN_TENANT",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::PluginError => "PLUGIN_ERROR",
            ErrorCode::PluginTimeout => "PLUGIN_TIMEOUT",
            ErrorCode::PluginLimit => "PLUGIN_LIMIT",
            ErrorCode::SearchUnavailable => "SEARCH_UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The HTTP status the REST surface answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadUserInput | ErrorCode::UnknownTenant => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::QueryTooComplex => 400,
            ErrorCode::RateLimited => 429,
            ErrorCode::PluginError => 502,
            ErrorCode::PluginTimeout => 504,
            ErrorCode::PluginLimit => 502,
            ErrorCode::SearchUnavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// Whether the message of an error with this code may be shown to the client as is.
    /// `INTERNAL` messages never are: the client gets a request id, the log gets the chain.
    pub fn message_is_public(self) -> bool {
        !matches!(self, ErrorCode::Internal)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule on one field: `path` is the field path (`title`, `title.fr`,
/// `fields[2].maxLength`, `tags[3]`), `rule` a stable machine name (`required`, `maxLength`,
/// `pattern`, `unique`, …), `message` a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub path: String,
    pub rule: String,
    pub message: String,
    /// With rule `dataLoss`: the stored entries a content-type change would damage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<DataLoss>,
}

/// The entries a refused content-type change would lose values of, so an editor can look at
/// them before deciding to force it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DataLoss {
    /// How many entries hold values that would be dropped.
    pub entries: u64,
    /// A few of their ids (at most five).
    pub sample: Vec<String>,
    /// What would be dropped, one sentence per reason.
    pub reasons: Vec<String>,
}

impl FieldError {
    pub fn new(path: impl Into<String>, rule: &str, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            rule: rule.to_owned(),
            message: message.into(),
            loss: None,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.rule)
    }
}

/// Renders a list of field errors on one line each, for logs and the CLI.
pub fn describe_fields(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_status_and_a_distinct_name() {
        let mut names = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.http_status()), "{code}");
            assert!(names.insert(code.as_str()), "duplicate {code}");
            let json = serde_json::to_string(&code).expect("serialize");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        assert!(!ErrorCode::Internal.message_is_public());
        assert!(ErrorCode::BadUserInput.message_is_public());
    }
}
