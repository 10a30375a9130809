//! Limits checked on the parsed query before anything executes: size, depth, total selected
//! fields (fragments expanded where used), aliases, `first`/`last` within the page limit, and the
//! cost: fields weighted by the size of the lists they sit in (`articles(first: 100)` times a
//! reference list's `first` times …). Introspection has a budget of its own, since a client's
//! standard introspection query nests deeper than content queries, but aliases and fragments
//! multiply it like anything else. Over a limit: `QUERY_TOO_COMPLEX`.
//!
//! The same checks run twice: once on the query text before the tenant is resolved (`check`, so
//! that a refusal costs no database statement), and in front of every tenant schema
//! (`GatedSchema`) where the variables and the tenant's list fields are known. Queries over
//! WebSocket go through the same wrapper, so both transports have one validation step.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition, Selection,
    SelectionSet,
};
use async_graphql::{Name, Positioned, Response, ServerError, Variables};
use async_graphql_value::{ConstValue, Value};
use futures::stream::BoxStream;

use super::builder::GraphqlLimits;

/// What a query costs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Deepest nesting outside introspection.
    pub depth: usize,
    /// Fields selected outside introspection (fragments expanded).
    pub fields: usize,
    /// Aliases anywhere.
    pub aliases: usize,
    /// Fields weighted by the lists they sit in.
    pub weighted: u64,
    /// Deepest nesting inside `__schema`/`__type`, counted from them.
    pub introspection_depth: usize,
    /// Fields inside `__schema`/`__type` (fragments expanded).
    pub introspection_fields: usize,
    /// Largest `first`/`last` asked for.
    pub page: u64,
}

/// List fields of a tenant's schema and how many items each yields when the query does not say
/// (`first`): the collections (`articles`) and the `many` reference fields.
pub type ListFields = HashMap<String, u64>;

/// Child selections that carry a connection's items: a connection's `first` weighs these only,
/// not its `totalCount` or `pageInfo`.
const ITEM_FIELDS: [&str; 3] = ["nodes", "edges", "hits"];

struct Walker<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    operation: &'a OperationDefinition,
    variables: Option<&'a Variables>,
    lists: &'a ListFields,
    cost: Cost,
    /// Stop walking once a count passes this (the answer is a refusal anyway).
    budget: usize,
}

impl Walker<'_> {
    /// The integer an argument is given, literally or through a variable.
    fn int_argument(
        &self,
        args: &[(Positioned<Name>, Positioned<Value>)],
        name: &str,
    ) -> Option<u64> {
        let (_, value) = args.iter().find(|(n, _)| n.node.as_str() == name)?;
        let constant = match &value.node {
            Value::Variable(var) => {
                self.variables
                    .and_then(|v| v.get(var).cloned())
                    .or_else(|| {
                        self.operation
                            .variable_definitions
                            .iter()
                            .find(|d| d.node.name.node == *var)
                            .and_then(|d| d.node.default_value.as_ref().map(|v| v.node.clone()))
                    })?
            }
            other => other.clone().into_const()?,
        };
        match constant {
            ConstValue::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    fn walk(&mut self, set: &SelectionSet, at: Place, stack: &mut Vec<Name>) {
        if self.cost.fields > self.budget || self.cost.introspection_fields > self.budget {
            return;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    let name = f.name.node.as_str();
                    if f.alias.is_some() {
                        self.cost.aliases += 1;
                    }
                    let entering =
                        at.introspection.is_none() && matches!(name, "__schema" | "__type");
                    let here = match (at.introspection, entering) {
                        (Some(d), _) => Place {
                            introspection: Some(d + 1),
                            ..at
                        },
                        (None, true) => Place {
                            introspection: Some(1),
                            ..at
                        },
                        (None, false) => Place {
                            depth: at.depth + 1,
                            ..at
                        },
                    };
                    match here.introspection {
                        Some(d) => {
                            self.cost.introspection_fields += 1;
                            self.cost.introspection_depth = self.cost.introspection_depth.max(d);
                        }
                        None => {
                            self.cost.fields += 1;
                            self.cost.depth = self.cost.depth.max(here.depth);
                            self.cost.weighted = self.cost.weighted.saturating_add(at.weight);
                        }
                    }
                    if f.selection_set.node.items.is_empty() {
                        continue;
                    }
                    // A list's items weigh as many times as the list may hold.
                    let asked = ["first", "last"]
                        .iter()
                        .filter_map(|a| self.int_argument(&f.arguments, a))
                        .max();
                    if let Some(n) = asked {
                        self.cost.page = self.cost.page.max(n);
                    }
                    let items = if here.introspection.is_some() {
                        None
                    } else {
                        asked.or_else(|| self.lists.get(name).copied())
                    };
                    match items {
                        Some(n) => {
                            let connection = f.selection_set.node.items.iter().any(|i| {
                                matches!(&i.node, Selection::Field(c) if ITEM_FIELDS.contains(&c.node.name.node.as_str()))
                            });
                            let inner = Place {
                                weight: here.weight.saturating_mul(n.max(1)),
                                ..here
                            };
                            if connection {
                                self.walk_connection(&f.selection_set.node, here, inner, stack);
                            } else {
                                self.walk(&f.selection_set.node, inner, stack);
                            }
                        }
                        None => self.walk(&f.selection_set.node, here, stack),
                    }
                }
                Selection::InlineFragment(i) => self.walk(&i.node.selection_set.node, at, stack),
                Selection::FragmentSpread(s) => {
                    let name = &s.node.fragment_name.node;
                    // A cycle is a validation error reported by the executor; stop here.
                    if stack.contains(name) {
                        continue;
                    }
                    if let Some(def) = self.fragments.get(name) {
                        stack.push(name.clone());
                        self.walk(&def.node.selection_set.node, at, stack);
                        stack.pop();
                    }
                }
            }
        }
    }

    /// A connection's selection: its item fields at the list's weight, the rest once.
    fn walk_connection(
        &mut self,
        set: &SelectionSet,
        once: Place,
        items: Place,
        stack: &mut Vec<Name>,
    ) {
        for item in &set.items {
            let one = SelectionSet {
                items: vec![item.clone()],
            };
            let at = match &item.node {
                Selection::Field(c) if ITEM_FIELDS.contains(&c.node.name.node.as_str()) => items,
                _ => once,
            };
            self.walk(&one, at, stack);
        }
    }
}

/// Where a selection sits: its depth, its weight, and its depth inside introspection.
#[derive(Debug, Clone, Copy)]
struct Place {
    depth: usize,
    weight: u64,
    introspection: Option<usize>,
}

/// Measures a parsed document (the most expensive operation counts).
pub fn cost(
    doc: &ExecutableDocument,
    variables: Option<&Variables>,
    lists: &ListFields,
    budget: usize,
) -> Cost {
    let mut worst = Cost::default();
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(map) => map.values().collect(),
    };
    for op in ops {
        let mut w = Walker {
            fragments: &doc.fragments,
            operation: &op.node,
            variables,
            lists,
            cost: Cost::default(),
            budget,
        };
        let top = Place {
            depth: 0,
            weight: 1,
            introspection: None,
        };
        w.walk(&op.node.selection_set.node, top, &mut Vec::new());
        let c = w.cost;
        worst = Cost {
            depth: worst.depth.max(c.depth),
            fields: worst.fields.max(c.fields),
            aliases: worst.aliases.max(c.aliases),
            weighted: worst.weighted.max(c.weighted),
            introspection_depth: worst.introspection_depth.max(c.introspection_depth),
            introspection_fields: worst.introspection_fields.max(c.introspection_fields),
            page: worst.page.max(c.page),
        };
    }
    worst
}

/// Checks a parsed document against the limits; the message says which limit and by how much.
pub fn measure(
    doc: &ExecutableDocument,
    variables: Option<&Variables>,
    lists: &ListFields,
    limits: &GraphqlLimits,
) -> Result<(), String> {
    let budget = limits.complexity.max(limits.introspection_fields);
    let c = cost(doc, variables, lists, budget);
    if c.depth > limits.depth {
        return Err(format!(
            "the query nests {} levels; at most {} allowed",
            c.depth, limits.depth
        ));
    }
    if c.fields > limits.complexity {
        return Err(format!(
            "the query selects more than {} fields",
            limits.complexity
        ));
    }
    if c.aliases > limits.aliases {
        return Err(format!(
            "the query uses {} aliases; at most {} allowed",
            c.aliases, limits.aliases
        ));
    }
    if c.introspection_depth > limits.introspection_depth {
        return Err(format!(
            "the introspection nests {} levels; at most {} allowed",
            c.introspection_depth, limits.introspection_depth
        ));
    }
    if c.introspection_fields > limits.introspection_fields {
        return Err(format!(
            "the introspection selects more than {} fields",
            limits.introspection_fields
        ));
    }
    if c.page > limits.page_max {
        return Err(format!(
            "`first`/`last` is {}; at most {} allowed",
            c.page, limits.page_max
        ));
    }
    if c.weighted > limits.cost {
        return Err(format!(
            "the query may resolve {} values (fields times the lists they are in); at most {} allowed",
            c.weighted, limits.cost
        ));
    }
    Ok(())
}

/// Checks a query text against the limits and returns the parsed document, so that it is
/// parsed once per request. `Ok(None)` when it does not parse: the executor reports syntax
/// errors itself. Without the tenant's list fields and the variables, lists weigh only what
/// their literal `first`/`last` say; the tenant's `GatedSchema` repeats the check with both.
pub fn check(query: &str, limits: &GraphqlLimits) -> Result<Option<ExecutableDocument>, String> {
    if query.len() > limits.query_bytes {
        return Err(format!(
            "the query is {} bytes; at most {} allowed",
            query.len(),
            limits.query_bytes
        ));
    }
    let Ok(doc) = super::parse::parse_query(query) else {
        return Ok(None);
    };
    measure(&doc, None, &ListFields::new(), limits)?;
    Ok(Some(doc))
}

/// A tenant's schema behind the checks: every request it runs, over HTTP or WebSocket, is
/// measured with its variables and the tenant's list fields before it executes.
///
/// A wrapper rather than a schema extension: an extension, even one that only looks at the
/// parsed query, puts every field's resolution through the extension chain (a boxed future
/// and a context per field), which was a tenth of the executor's time on a page of entries.
#[derive(Clone)]
pub struct GatedSchema {
    schema: async_graphql::dynamic::Schema,
    limits: Arc<GraphqlLimits>,
    lists: Arc<ListFields>,
    direct: Arc<super::direct::Direct>,
}

/// A request the checks let through, with the place it holds when it reads introspection.
struct Admitted {
    request: async_graphql::Request,
    introspection: bool,
}

impl GatedSchema {
    pub fn new(
        schema: async_graphql::dynamic::Schema,
        limits: GraphqlLimits,
        lists: ListFields,
        direct: super::direct::Direct,
    ) -> GatedSchema {
        GatedSchema {
            schema,
            limits: Arc::new(limits),
            lists: Arc::new(lists),
            direct: Arc::new(direct),
        }
    }

    /// The schema in SDL.
    pub fn sdl(&self) -> String {
        self.schema.sdl()
    }

    /// The schema's types, as validation sees them.
    pub fn registry(&self) -> &async_graphql::registry::Registry {
        self.schema.registry()
    }

    /// Measures the request; the refusal is the whole answer. A text that does not parse goes
    /// on unparsed, for the executor to report its syntax error.
    fn admit(&self, mut request: async_graphql::Request) -> Result<Admitted, Box<Response>> {
        let refuse = |message: String| Box::new(Response::from_errors(vec![too_complex(message)]));
        if request.query.len() > self.limits.query_bytes {
            return Err(refuse(format!(
                "the query is {} bytes; at most {} allowed",
                request.query.len(),
                self.limits.query_bytes
            )));
        }
        // Parsed once: HTTP brings the document from its cache, WebSocket parses here.
        let variables = std::mem::take(&mut request.variables);
        let measured = match request.parsed_query() {
            Ok(doc) => Some(
                measure(doc, Some(&variables), &self.lists, &self.limits)
                    .map(|()| has_introspection(doc)),
            ),
            Err(_) => None,
        };
        request.variables = variables;
        let introspection = match measured {
            Some(measured) => measured.map_err(refuse)?,
            None => false,
        };
        Ok(Admitted {
            request,
            introspection,
        })
    }
}

/// A place among the introspection requests running on this node, when the request needs one.
/// Validation (its overlapping-fields rule is quadratic) and execution both wait for it. A
/// closed semaphore (never closed here) would mean running unbounded.
async fn place(introspection: bool) -> Option<tokio::sync::OwnedSemaphorePermit> {
    if introspection {
        introspections().acquire_owned().await.ok()
    } else {
        None
    }
}

impl async_graphql::Executor for GatedSchema {
    async fn execute(&self, request: async_graphql::Request) -> Response {
        match self.admit(request) {
            Ok(mut admitted) => {
                if !admitted.introspection
                    && let Some(answer) = self
                        .direct
                        .answer(self.schema.registry(), &mut admitted.request)
                        .await
                {
                    return answer;
                }
                let _place = place(admitted.introspection).await;
                self.schema.execute(admitted.request).await
            }
            Err(refused) => *refused,
        }
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<Arc<async_graphql::Data>>,
    ) -> BoxStream<'static, Response> {
        use futures::StreamExt as _;
        match self.admit(request) {
            Ok(admitted) => {
                let schema = self.schema.clone();
                futures::stream::once(async move {
                    let held = place(admitted.introspection).await;
                    schema
                        .execute_stream_with_session_data(
                            admitted.request,
                            session_data.unwrap_or_default(),
                        )
                        // The place is given back when the stream ends.
                        .map(move |response| {
                            let _ = &held;
                            response
                        })
                })
                .flatten()
                .boxed()
            }
            Err(refused) => futures::stream::once(async move { *refused }).boxed(),
        }
    }
}

/// Introspection answers are large and built from the whole schema: a node runs this many at
/// once (`limits.graphql_introspection_concurrency`), so that clients flooding it with the
/// largest introspection the limits allow queue among themselves instead of slowing every
/// other request. Set once at start; the first call wins.
static INTROSPECTIONS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> =
    std::sync::OnceLock::new();

/// Sets how many introspection requests run at once on this node (at least one).
pub fn set_introspection_concurrency(n: usize) {
    let _ = INTROSPECTIONS.set(Arc::new(tokio::sync::Semaphore::new(n.max(1))));
}

fn introspections() -> Arc<tokio::sync::Semaphore> {
    INTROSPECTIONS
        .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(1)))
        .clone()
}

/// Whether an operation of the document selects `__schema` or `__type` at its top.
fn has_introspection(doc: &ExecutableDocument) -> bool {
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(map) => map.values().collect(),
    };
    let mut sets: Vec<&SelectionSet> = ops.iter().map(|op| &op.node.selection_set.node).collect();
    let mut seen = 0;
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f)
                    if matches!(f.node.name.node.as_str(), "__schema" | "__type") =>
                {
                    return true;
                }
                Selection::Field(_) => {}
                Selection::InlineFragment(i) => sets.push(&i.node.selection_set.node),
                Selection::FragmentSpread(s) => {
                    // Fragments on the root; a cycle is bounded by the count.
                    seen += 1;
                    if seen <= doc.fragments.len()
                        && let Some(def) = doc.fragments.get(&s.node.fragment_name.node)
                    {
                        sets.push(&def.node.selection_set.node);
                    }
                }
            }
        }
    }
    false
}

fn too_complex(message: String) -> ServerError {
    let mut e = ServerError::new(message, None);
    e.extensions
        .get_or_insert_with(Default::default)
        .set("code", crate::error::ErrorCode::QueryTooComplex.as_str());
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_depth_fields_aliases_through_fragments() {
        let q = "query { a { b { c } } x: a { ...F } } fragment F on A { b { c d } }";
        let doc = async_graphql::parser::parse_query(q).expect("parse");
        let expected = Cost {
            depth: 3,
            fields: 7,
            aliases: 1,
            ..Cost::default()
        };
        let c = cost(&doc, None, &ListFields::new(), 1000);
        assert_eq!(
            (c.depth, c.fields, c.aliases),
            (expected.depth, expected.fields, expected.aliases)
        );
    }

    #[test]
    fn rejects_bombs() {
        let limits = GraphqlLimits::default();
        let aliases: String = (0..100).map(|i| format!("a{i}: locales ")).collect();
        assert!(check(&format!("{{ {aliases} }}"), &limits).is_err());
        let deep = format!("{}{}", "{ a ".repeat(30), "}".repeat(30));
        assert!(check(&deep, &limits).is_err());
        let uses = |f: &str| format!("...{f} ").repeat(10);
        let fan = format!(
            "query {{ ...A }} fragment A on Query {{ {} }} fragment B on Query {{ locales {} }} fragment C on Query {{ locales {} }} fragment D on Query {{ {} }}",
            uses("B"),
            uses("C"),
            uses("D"),
            "locales ".repeat(12)
        );
        assert!(
            check(&fan, &limits).is_err(),
            "fragment fan-out counts every use"
        );
        assert!(check("{ locales }", &limits).is_ok());
        assert!(check("{ __schema { types { name fields { name type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } } }", &limits).is_ok(), "introspection nests deeper");
    }

    #[test]
    fn introspection_has_a_budget_that_aliases_and_fragments_cannot_escape() {
        let limits = GraphqlLimits::default();
        // graphql-js getIntrospectionQuery() with every option on, as GraphiQL sends it.
        let standard = include_str!("introspection.graphql");
        assert!(
            check(standard, &limits).is_ok(),
            "a client's standard introspection query"
        );
        let fragment = "fragment F on __Type { name kind fields { name args { name } type { name ofType { name } } } }";
        let bomb: String = (0..300)
            .map(|i| format!("a{i}: __schema {{ types {{ ...F }} }} "))
            .collect();
        let err = check(&format!("{{ {bomb} }} {fragment}"), &limits).expect_err("bomb");
        assert!(err.contains("aliases"), "{err}");
        // Under the alias limit, but 25 copies of a large fragment.
        let large = "fragment G on __Type { name kind description fields { name description args { name description defaultValue type { name kind ofType { name kind } } } type { name kind ofType { name kind ofType { name } } } isDeprecated deprecationReason } }";
        let wide: String = (0..25)
            .map(|i| format!("a{i}: __schema {{ types {{ ...G }} }} "))
            .collect();
        let err = check(&format!("{{ {wide} }} {large}"), &limits).expect_err("wide");
        assert!(err.contains("introspection selects"), "{err}");
    }

    #[test]
    fn introspection_is_told_through_aliases_and_fragments() {
        let doc = |q: &str| async_graphql::parser::parse_query(q).expect("parse");
        assert!(has_introspection(&doc(
            "{ a: __schema { types { name } } }"
        )));
        assert!(has_introspection(&doc(
            "{ ...F } fragment F on Query { __type(name: \"A\") { name } }"
        )));
        assert!(has_introspection(&doc(
            "{ ... on Query { __schema { queryType { name } } } }"
        )));
        assert!(!has_introspection(&doc(
            "{ __typename articles { nodes { __typename } } }"
        )));
        assert!(!has_introspection(&doc(
            "{ ...F } fragment F on Query { ...F }"
        )));
    }

    #[test]
    fn lists_multiply_what_they_hold() {
        let limits = GraphqlLimits::default();
        let mut lists = ListFields::new();
        lists.insert("articles".into(), 20);
        lists.insert("relatedEvents".into(), 20);
        lists.insert("relatedArticles".into(), 20);
        let doc = |q: &str| async_graphql::parser::parse_query(q).expect("parse");
        // A connection's first weighs its items, not its totalCount.
        let c = cost(
            &doc("{ articles(first: 100) { totalCount nodes { id title } } }"),
            None,
            &lists,
            10_000,
        );
        assert_eq!(c.weighted, 1 + 1 + 100 + 200);
        // Without first, a list weighs its default; nested lists multiply.
        let q = "{ articles(first: 100) { nodes { relatedEvents { relatedArticles { id title body } } } } }";
        let c = cost(&doc(q), None, &lists, 10_000);
        assert_eq!(c.weighted, 1 + 100 + 100 + 100 * 20 + 100 * 20 * 20 * 3);
        assert!(measure(&doc(q), None, &lists, &limits).is_err());
        // first through a variable, or its default in the operation.
        let q = "query($n: Int = 7) { articles(first: $n) { nodes { id } } }";
        assert_eq!(cost(&doc(q), None, &lists, 10_000).weighted, 1 + 7 + 7);
        let vars = Variables::from_json(serde_json::json!({"n": 3}));
        assert_eq!(
            cost(&doc(q), Some(&vars), &lists, 10_000).weighted,
            1 + 3 + 3
        );
        // Over the page limit: refused before anything runs.
        let vars = Variables::from_json(serde_json::json!({"n": 1000}));
        let err = measure(&doc(q), Some(&vars), &lists, &limits).expect_err("page");
        assert!(err.contains("at most 100"), "{err}");
    }
}
