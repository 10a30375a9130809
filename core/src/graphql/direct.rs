//! Plain pages answered without the executor's per-field resolution.
//!
//! Most queries a site sends are a page of entries with a few of their fields:
//! `{ events(where: …, orderBy: …, first: 20) { nodes { id title startsAt } } }`. The executor
//! resolves each field of each node as a future of its own, with a context, an argument map and
//! a type lookup, and collects each object into a map: a fifth of the server's CPU on such a
//! page, more than reading it. A query of exactly that shape is answered here from the same
//! page read (`builder::page_query`, the content service), with each value taken and typed as
//! the executor would (`builder::plain`, `builder::system_value`, the schema's scalar and
//! enum checks), so that the answer is the same, byte for byte.
//!
//! Variables are replaced as the executor replaces them (the request's value, else the
//! definition's default, else null), each checked where it stands and the arguments checked
//! whole afterwards, as async-graphql's validation does. Anything else goes to the executor:
//! fragments, directives, `__typename`, `pageInfo`, edges, references, media, an argument, a
//! variable or a value whose validity is not certain here, any error (the executor then
//! reports it as usual). `tests/tests/graphql_direct.rs`
//! runs the same queries through both and compares the answers.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationType, Selection, SelectionSet,
    VariableDefinition,
};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{Name, Positioned, Request, Response, Value, Variables};

use super::RequestCtx;
use super::builder::{
    Args, EntryView, GraphqlLimits, LIST_STATUS_DEFAULT, PageQuery, Plain, SYSTEM_FIELDS,
    page_query, plain, system_value,
};
use super::names::TypeNames;
use crate::content::TenantModel;
use crate::content::model::{FieldDef, FieldKind};

/// The list fields of a tenant's schema that can be answered directly.
pub struct Direct {
    lists: HashMap<String, List>,
    page_max: u64,
}

/// One content type's list field.
struct List {
    ty: String,
    fields: HashMap<String, NodeField>,
}

/// A field of a node read straight from the entry.
enum NodeField {
    System(&'static str, fn(&EntryView) -> Value),
    Plain(Arc<FieldDef>),
}

/// A top-level field of the query, checked and ready to run.
struct Planned<'s> {
    key: Name,
    list: &'s List,
    args: Args,
    nodes_key: Name,
    /// Response key, field, GraphQL type (from the schema).
    fields: Vec<(Name, &'s NodeField, &'s str)>,
    /// The content fields to decode from each document.
    selected: Vec<String>,
}

impl Direct {
    /// Off (`limits.graphql_direct_pages = false`): every query goes to the executor.
    pub fn new(model: &TenantModel, limits: &GraphqlLimits) -> Direct {
        let lists = if limits.direct_pages {
            model
                .types
                .iter()
                .map(|ct| {
                    let mut fields: HashMap<String, NodeField> = SYSTEM_FIELDS
                        .iter()
                        .map(|(name, _, get)| ((*name).to_owned(), NodeField::System(name, *get)))
                        .collect();
                    for f in &ct.fields {
                        if !matches!(f.kind, FieldKind::Reference { .. } | FieldKind::Media) {
                            fields.insert(f.name.clone(), NodeField::Plain(Arc::new(f.clone())));
                        }
                    }
                    let names = TypeNames::new(&ct.name, &ct.plural);
                    (
                        names.list,
                        List {
                            ty: ct.name.clone(),
                            fields,
                        },
                    )
                })
                .collect()
        } else {
            HashMap::new()
        };
        Direct {
            lists,
            page_max: limits.page_max,
        }
    }

    /// The answer, when the request is a plain page and every step of it succeeds; `None`
    /// sends it to the executor.
    pub async fn answer(&self, registry: &Registry, request: &mut Request) -> Option<Response> {
        if self.lists.is_empty() {
            return None;
        }
        let operation = request.operation_name.clone();
        let variables = std::mem::take(&mut request.variables);
        let plans = request
            .parsed_query()
            .ok()
            .and_then(|doc| self.plan(registry, doc, operation.as_deref(), &variables));
        request.variables = variables;
        let plans = plans?;
        let rc = request
            .data
            .get(&TypeId::of::<RequestCtx>())?
            .downcast_ref::<RequestCtx>()?;
        let mut data = async_graphql::indexmap::IndexMap::with_capacity(plans.len());
        for plan in plans {
            let value = run(rc, registry, self.page_max, &plan).await?;
            data.insert(plan.key, value);
        }
        rc.direct.store(true, std::sync::atomic::Ordering::Relaxed);
        Some(Response::new(Value::Object(data)))
    }

    fn plan<'s>(
        &'s self,
        registry: &'s Registry,
        doc: &ExecutableDocument,
        operation: Option<&str>,
        variables: &Variables,
    ) -> Option<Vec<Planned<'s>>> {
        if !doc.fragments.is_empty() {
            return None;
        }
        // One operation (a named one parses into a map of one), the one asked for.
        let op = match &doc.operations {
            DocumentOperations::Single(op) if operation.is_none() => op,
            DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                let (name, op) = ops.iter().next()?;
                if operation.is_some_and(|o| o != name.as_str()) {
                    return None;
                }
                op
            }
            _ => return None,
        };
        let op = &op.node;
        if op.ty != OperationType::Query || !op.directives.is_empty() {
            return None;
        }
        let mut vars = Vars::new(registry, &op.variable_definitions, variables)?;
        let query = registry.types.get(&registry.query_type)?;
        let mut plans = Vec::new();
        for field in fields(&op.selection_set.node)? {
            let list = self.lists.get(field.name.node.as_str())?;
            let meta = query.field_by_name(&field.name.node)?;
            let mut args = arguments(registry, field, &meta.args, &mut vars)?;
            if !args.contains_key("status") {
                args.insert(
                    Name::new("status"),
                    Value::Enum(Name::new(LIST_STATUS_DEFAULT)),
                );
            }
            let connection = registry.types.get(named(&meta.ty))?;
            let mut nodes = None;
            for inner in fields(&field.selection_set.node)? {
                // One `nodes` selection, nothing else (`pageInfo`, edges and counts go to the
                // executor).
                if inner.name.node != "nodes"
                    || nodes.is_some()
                    || !inner.arguments.is_empty()
                    || inner.selection_set.node.items.is_empty()
                {
                    return None;
                }
                nodes = Some(inner);
            }
            let nodes = nodes?;
            let node_type = registry
                .types
                .get(named(&connection.field_by_name("nodes")?.ty))?;
            let mut planned = Vec::new();
            let mut selected = Vec::new();
            for leaf in fields(&nodes.selection_set.node)? {
                let field_def = list.fields.get(leaf.name.node.as_str())?;
                let meta = node_type.field_by_name(&leaf.name.node)?;
                let leaf_type = registry.types.get(named(&meta.ty))?;
                if !leaf.arguments.is_empty()
                    || !meta.args.is_empty()
                    || !leaf.selection_set.node.items.is_empty()
                    || !matches!(leaf_type, MetaType::Scalar { .. } | MetaType::Enum { .. })
                {
                    return None;
                }
                if let NodeField::Plain(def) = field_def
                    && !selected.contains(&def.name)
                {
                    selected.push(def.name.clone());
                }
                planned.push((
                    leaf.response_key().node.clone(),
                    field_def,
                    meta.ty.as_str(),
                ));
            }
            plans.push(Planned {
                key: field.response_key().node.clone(),
                list,
                args,
                nodes_key: nodes.response_key().node.clone(),
                fields: planned,
                selected,
            });
        }
        // Every variable defined is used (an unused one is a validation error).
        (!plans.is_empty() && vars.all_used()).then_some(plans)
    }
}

/// The operation's variables: their definitions, checked, and the values the request gives.
struct Vars<'d> {
    registry: &'d Registry,
    defined: HashMap<&'d str, (&'d VariableDefinition, String)>,
    given: &'d Variables,
    used: std::collections::HashSet<&'d str>,
}

impl<'d> Vars<'d> {
    /// `None` unless every definition is of an input type, named once, without directives,
    /// and with a default valid for its type.
    fn new(
        registry: &'d Registry,
        definitions: &'d [Positioned<VariableDefinition>],
        given: &'d Variables,
    ) -> Option<Vars<'d>> {
        let mut defined = HashMap::with_capacity(definitions.len());
        for def in definitions {
            let def = &def.node;
            let ty = def.var_type.node.to_string();
            let input = matches!(
                registry.types.get(named(&ty)),
                Some(
                    MetaType::Scalar { .. } | MetaType::Enum { .. } | MetaType::InputObject { .. }
                )
            );
            let default_ok = def
                .default_value
                .as_ref()
                .is_none_or(|d| valid_input(registry, &ty, &d.node));
            if !input
                || !default_ok
                || !def.directives.is_empty()
                || defined.insert(def.name.node.as_str(), (def, ty)).is_some()
            {
                return None;
            }
        }
        Some(Vars {
            registry,
            defined,
            given,
            used: Default::default(),
        })
    }

    /// Whether every variable in `value` stands where its type may (its declared type is the
    /// position's, or the non-null form of it), noting each as used.
    fn placed(&mut self, ty: &str, value: &'d async_graphql_value::Value) -> bool {
        use async_graphql_value::Value as Literal;
        match value {
            Literal::Variable(name) => match self.defined.get(name.as_str()) {
                Some((_, declared)) => {
                    self.used.insert(name.as_str());
                    declared == ty || (!ty.ends_with('!') && *declared == format!("{ty}!"))
                }
                None => false,
            },
            Literal::List(items) => match MetaTypeName::create(ty) {
                MetaTypeName::NonNull(inner) => self.placed(inner, value),
                MetaTypeName::List(inner) => items.iter().all(|v| self.placed(inner, v)),
                MetaTypeName::Named(_) => !has_variables(value),
            },
            Literal::Object(fields) => match MetaTypeName::create(ty) {
                MetaTypeName::NonNull(inner) => self.placed(inner, value),
                MetaTypeName::Named(name) => match self.registry.types.get(name) {
                    Some(MetaType::InputObject { input_fields, .. }) => {
                        fields
                            .iter()
                            .all(|(k, v)| match input_fields.get(k.as_str()) {
                                Some(f) => self.placed(&f.ty, v),
                                None => !has_variables(v),
                            })
                    }
                    _ => !has_variables(value),
                },
                MetaTypeName::List(_) => !has_variables(value),
            },
            _ => true,
        }
    }

    /// The value of an argument with its variables replaced as the executor replaces them: the
    /// request's value, else the definition's default, else null for a nullable one.
    fn value(&self, value: &async_graphql_value::Value) -> Option<Value> {
        value
            .clone()
            .into_const_with(|name| {
                let (def, _) = self.defined.get(name.as_str()).ok_or(())?;
                self.given
                    .get(&name)
                    .or_else(|| def.default_value())
                    .cloned()
                    .ok_or(())
            })
            .ok()
    }

    fn all_used(&self) -> bool {
        self.used.len() == self.defined.len()
    }
}

fn has_variables(value: &async_graphql_value::Value) -> bool {
    use async_graphql_value::Value as Literal;
    match value {
        Literal::Variable(_) => true,
        Literal::List(items) => items.iter().any(has_variables),
        Literal::Object(fields) => fields.values().any(has_variables),
        _ => false,
    }
}

/// The fields of a selection set: `None` when it holds anything else (fragments), a field with
/// directives, `__typename`, or two fields under one response key.
fn fields(set: &SelectionSet) -> Option<Vec<&Field>> {
    let mut out: Vec<&Field> = Vec::with_capacity(set.items.len());
    for item in &set.items {
        let Selection::Field(field) = &item.node else {
            return None;
        };
        let field = &field.node;
        if !field.directives.is_empty()
            || field.name.node.starts_with("__")
            || out
                .iter()
                .any(|f| f.response_key().node == field.response_key().node)
        {
            return None;
        }
        out.push(field);
    }
    Some(out)
}

/// The named type under list and non-null wrappers.
fn named(ty: &str) -> &str {
    ty.trim_matches(|c| matches!(c, '[' | ']' | '!'))
}

/// A field's arguments, each known, given once, its variables where their types allow, and
/// valid for its type once they are replaced; every required one given; the ones with a
/// default not given are left to the executor.
fn arguments<'d>(
    registry: &Registry,
    field: &'d Field,
    defined: &async_graphql::indexmap::IndexMap<String, async_graphql::registry::MetaInputValue>,
    vars: &mut Vars<'d>,
) -> Option<Args> {
    let mut args = Args::with_capacity(field.arguments.len() + 1);
    for (name, value) in &field.arguments {
        let meta = defined.get(name.node.as_str())?;
        if args.contains_key(&name.node) || !vars.placed(&meta.ty, &value.node) {
            return None;
        }
        let value = vars.value(&value.node)?;
        if !valid_input(registry, &meta.ty, &value) {
            return None;
        }
        args.insert(name.node.clone(), value);
    }
    for (name, meta) in defined {
        let given = args.contains_key(name.as_str());
        if !given && meta.default_value.is_some() && name != "status" {
            return None;
        }
        if !given && MetaTypeName::create(&meta.ty).is_non_null() {
            return None;
        }
    }
    Some(args)
}

/// Whether a literal is valid for an input type, as the executor's validation decides, or
/// stricter (`false` only sends the query to the executor, which then reports the error).
fn valid_input(registry: &Registry, ty: &str, value: &Value) -> bool {
    match MetaTypeName::create(ty) {
        MetaTypeName::NonNull(inner) => {
            !matches!(value, Value::Null) && valid_input(registry, inner, value)
        }
        MetaTypeName::List(inner) => match value {
            Value::List(items) => items.iter().all(|v| valid_input(registry, inner, v)),
            Value::Null => true,
            _ => false,
        },
        MetaTypeName::Named(name) => {
            if matches!(value, Value::Null) {
                return true;
            }
            match registry.types.get(name) {
                Some(MetaType::Scalar { is_valid, .. }) => {
                    is_valid.as_ref().is_some_and(|f| f(value))
                }
                // As the executor's validation: an item, or its name as a string (how a
                // variable's JSON gives it).
                Some(MetaType::Enum { enum_values, .. }) => match value {
                    Value::Enum(n) => enum_values.contains_key(n.as_str()),
                    Value::String(s) => enum_values.contains_key(s.as_str()),
                    _ => false,
                },
                Some(MetaType::InputObject {
                    input_fields,
                    oneof: false,
                    ..
                }) => match value {
                    Value::Object(values) => {
                        values.keys().all(|k| input_fields.contains_key(k.as_str()))
                            && input_fields
                                .values()
                                .all(|f| match values.get(f.name.as_str()) {
                                    Some(v) => valid_input(registry, &f.ty, v),
                                    None => {
                                        !MetaTypeName::create(&f.ty).is_non_null()
                                            || f.default_value.is_some()
                                    }
                                })
                    }
                    _ => false,
                },
                _ => false,
            }
        }
    }
}

/// The value the executor makes of a resolver's answer for a field of type `ty`; `None` where
/// it would report an error.
fn output(registry: &Registry, ty: &str, out: Plain) -> Option<Value> {
    match MetaTypeName::create(ty) {
        MetaTypeName::NonNull(inner) => match out {
            Plain::Null => None,
            out => output(registry, inner, out).filter(|v| !matches!(v, Value::Null)),
        },
        MetaTypeName::List(inner) => {
            let items = match out {
                Plain::Null => return Some(Value::Null),
                Plain::Many(items) => items,
                Plain::One(Value::List(items)) => items,
                Plain::One(_) => return None,
            };
            items
                .into_iter()
                .map(|v| output(registry, inner, Plain::One(v)))
                .collect::<Option<Vec<_>>>()
                .map(Value::List)
        }
        MetaTypeName::Named(name) => {
            let value = match out {
                Plain::Null => return Some(Value::Null),
                Plain::Many(_) => return None,
                Plain::One(value) => value,
            };
            match registry.types.get(name)? {
                // The built-in scalars take any value in the executor (they have no validator
                // of their own in a dynamic schema).
                MetaType::Scalar { .. }
                    if matches!(name, "Int" | "Float" | "String" | "Boolean" | "ID") =>
                {
                    Some(value)
                }
                MetaType::Scalar { is_valid, .. } => {
                    is_valid.as_ref().is_none_or(|f| f(&value)).then_some(value)
                }
                MetaType::Enum { enum_values, .. } => {
                    let item = match &value {
                        Value::Enum(n) => n.as_str(),
                        Value::String(s) => s.as_str(),
                        _ => return None,
                    };
                    enum_values
                        .contains_key(item)
                        .then(|| Value::Enum(Name::new(item)))
                }
                _ => None,
            }
        }
    }
}

/// Reads the page and builds `{ nodes: [...] }`.
async fn run(
    rc: &RequestCtx,
    registry: &Registry,
    page_max: u64,
    plan: &Planned<'_>,
) -> Option<Value> {
    let ty = &plan.list.ty;
    let PageQuery {
        args,
        stage,
        locale,
    } = page_query(rc, ty, &plan.args, page_max, true).ok()?;
    let page = rc
        .content
        .list_fields(&rc.tenant, ty, &args, stage, Some(&plan.selected))
        .await
        .ok()?;
    let default_locale = rc.tenant.default_locale();
    let mut nodes = Vec::with_capacity(page.entries.len());
    for (entry, _) in page.entries {
        let view = EntryView {
            entry: Arc::new(entry),
            locale: locale.clone(),
        };
        let mut node = async_graphql::indexmap::IndexMap::with_capacity(plan.fields.len());
        for (key, field, field_type) in &plan.fields {
            let out = match field {
                NodeField::System(name, get) => Plain::One(system_value(rc, &view, name, *get)),
                NodeField::Plain(def) => plain(&view, def, default_locale),
            };
            node.insert(key.clone(), output(registry, field_type, out)?);
        }
        nodes.push(Value::Object(node));
    }
    let mut connection = async_graphql::indexmap::IndexMap::with_capacity(1);
    connection.insert(plan.nodes_key.clone(), Value::List(nodes));
    Some(Value::Object(connection))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::model::builtin_types;

    fn direct() -> (Direct, super::super::checks::GatedSchema) {
        let model = TenantModel {
            schema_version: 1,
            types: builtin_types(),
        };
        let limits = GraphqlLimits::default();
        (
            Direct::new(&model, &limits),
            super::super::builder::build_schema(&model, &limits).expect("schema"),
        )
    }

    fn planned(query: &str) -> bool {
        planned_with(query, serde_json::json!({}))
    }

    fn planned_with(query: &str, variables: serde_json::Value) -> bool {
        let (direct, schema) = direct();
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        let variables = Variables::from_json(variables);
        direct
            .plan(schema.registry(), &doc, None, &variables)
            .is_some()
    }

    #[test]
    fn plain_pages_are_planned() {
        for query in [
            "{ articles { nodes { id title } } }",
            "query Latest { articles(orderBy: [{field: publishedAt, direction: DESC}], first: 20) { nodes { id slug title excerpt publishedAt city } } }",
            r#"{ events(where: {startsAt: {gte: "2015-03-01T00:00:00Z", lt: "2015-04-01T00:00:00Z"}}, orderBy: [{field: startsAt}], first: 20) { nodes { id title startsAt city } } }"#,
            "{ a: articles(first: 2) { n: nodes { t: title i: id } } b: events { nodes { title } } }",
            r#"{ articles(locale: "fr", status: DRAFT) { nodes { status locale availableLocales tags } } }"#,
        ] {
            assert!(planned(query), "{query}");
        }
    }

    #[test]
    fn everything_else_goes_to_the_executor() {
        for query in [
            // Fragments, directives, introspection, mutations.
            "{ articles { nodes { ...F } } } fragment F on Article { id }",
            "{ articles { nodes { id @include(if: true) } } }",
            "{ articles { nodes { __typename id } } }",
            "{ __typename articles { nodes { id } } }",
            "mutation { deleteArticle(id: \"x\") }",
            // Other selections of the connection, and fields of other kinds.
            "{ articles { nodes { id } pageInfo { endCursor } } }",
            "{ articles { edges { node { id } } } }",
            "{ articles { nodes { relatedEvents { id } } } }",
            "{ articles { nodes { cover { url } } } }",
            "{ article(slug: \"x\") { id } }",
            "{ locales }",
            // Invalid, or not certainly valid: the executor reports it.
            "{ articles { nodes { nope } } }",
            "{ articles(nope: 1) { nodes { id } } }",
            "{ articles(first: \"ten\") { nodes { id } } }",
            "{ articles(first: 1, first: 2) { nodes { id } } }",
            "{ articles(orderBy: {field: title}) { nodes { id } } }",
            "{ articles(where: {nope: {eq: \"x\"}}) { nodes { id } } }",
            r#"{ events(where: {startsAt: {gte: "yesterday"}}) { nodes { id } } }"#,
            "{ articles(status: NOPE) { nodes { id } } }",
            "{ articles { nodes { id id: title } } }",
            "{ articles { nodes { id { x } } } }",
            "{ articles { nodes } }",
            "{ a: articles { nodes { id } } a: events { nodes { id } } }",
        ] {
            assert!(!planned(query), "{query}");
        }
    }

    #[test]
    fn the_operation_asked_for_is_the_one_planned() {
        let (direct, schema) = direct();
        let plan = |query: &str, operation: Option<&str>| {
            let doc = async_graphql::parser::parse_query(query).expect("parses");
            direct
                .plan(schema.registry(), &doc, operation, &Variables::default())
                .is_some()
        };
        let named = "query A { articles { nodes { id } } }";
        assert!(plan(named, None));
        assert!(plan(named, Some("A")));
        assert!(!plan(named, Some("B")));
        assert!(!plan("{ articles { nodes { id } } }", Some("A")));
        let two = "query A { articles { nodes { id } } } query B { events { nodes { id } } }";
        assert!(!plan(two, Some("A")));
        assert!(!plan(two, None));
    }

    #[test]
    fn variables_are_placed_and_checked_as_validation_does() {
        use serde_json::json;
        let first = "query($n: Int) { articles(first: $n) { nodes { id } } }";
        assert!(planned_with(first, json!({"n": 2})));
        assert!(planned_with(first, json!({})), "nullable, absent: null");
        assert!(planned_with(first, json!({"n": null})));
        assert!(!planned_with(first, json!({"n": "two"})));
        assert!(!planned_with(first, json!({"n": 2.5})));
        let required = "query($n: Int!) { articles(first: $n) { nodes { id } } }";
        assert!(
            planned_with(required, json!({"n": 2})),
            "non-null where nullable"
        );
        assert!(!planned_with(required, json!({})), "required, absent");
        let defaulted = "query($n: Int = 3) { articles(first: $n) { nodes { id } } }";
        assert!(planned_with(defaulted, json!({})));
        // A default of the wrong type; unused, undefined, defined twice, of another type than
        // the position's, of an unknown type.
        for query in [
            "query($n: Int = \"x\") { articles(first: $n) { nodes { id } } }",
            "query($n: Int) { articles { nodes { id } } }",
            "{ articles(first: $n) { nodes { id } } }",
            "query($n: Int, $n: Int) { articles(first: $n) { nodes { id } } }",
            "query($n: Float) { articles(first: $n) { nodes { id } } }",
            "query($n: Nope) { articles(first: $n) { nodes { id } } }",
        ] {
            assert!(!planned_with(query, json!({"n": 1})), "{query}");
        }
        // Inside input objects and lists, at the type of their position.
        let city = "query($c: String) { articles(where: {city: {eq: $c}}) { nodes { id } } }";
        assert!(planned_with(city, json!({"c": "آسفي"})));
        assert!(!planned_with(city, json!({"c": 1})));
        let tags = "query($t: String!) { articles(where: {tags: {in: [$t]}}) { nodes { id } } }";
        assert!(planned_with(tags, json!({"t": "زليج"})));
        let order = "query($o: [ArticleOrderBy!]) { articles(orderBy: $o) { nodes { id } } }";
        assert!(planned_with(
            order,
            json!({"o": [{"field": "title", "direction": "DESC"}]})
        ));
        assert!(!planned_with(order, json!({"o": [{"field": "nope"}]})));
        let status = "query($s: Status) { articles(status: $s) { nodes { id } } }";
        assert!(planned_with(status, json!({"s": "DRAFT"})));
        assert!(!planned_with(status, json!({"s": "GONE"})));
    }

    #[test]
    fn output_follows_the_executor() {
        let (_, schema) = direct();
        let r = schema.registry();
        assert_eq!(output(r, "String", Plain::Null), Some(Value::Null));
        assert_eq!(output(r, "String!", Plain::Null), None);
        assert_eq!(
            output(r, "[String!]!", Plain::Many(vec![])),
            Some(Value::List(vec![]))
        );
        assert_eq!(
            output(r, "[String!]!", Plain::Many(vec![Value::Null])),
            None
        );
        assert_eq!(output(r, "String", Plain::Many(vec![])), None);
        assert_eq!(output(r, "DateTime", Plain::One(Value::from("nope"))), None);
        assert_eq!(
            output(r, "Status!", Plain::One(Value::from("PUBLISHED"))),
            Some(Value::Enum(Name::new("PUBLISHED")))
        );
        assert_eq!(output(r, "Status!", Plain::One(Value::from("GONE"))), None);
    }
}
