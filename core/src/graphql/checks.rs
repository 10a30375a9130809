//! Limits checked on the parsed query before anything executes: size, depth, total selected
//! fields (fragments expanded where used) and aliases. Over a limit: `QUERY_TOO_COMPLEX`.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

use super::builder::GraphqlLimits;

/// What a query costs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub depth: usize,
    pub fields: usize,
    pub aliases: usize,
}

struct Walker<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    cost: Cost,
    budget: usize,
}

impl Walker<'_> {
    fn walk(&mut self, set: &SelectionSet, depth: usize, stack: &mut Vec<Name>) {
        if self.cost.fields > self.budget {
            return;
        }
        self.cost.depth = self.cost.depth.max(depth);
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    self.cost.fields += 1;
                    if f.node.alias.is_some() {
                        self.cost.aliases += 1;
                    }
                    if !f.node.selection_set.node.items.is_empty() {
                        self.walk(&f.node.selection_set.node, depth + 1, stack);
                    }
                }
                Selection::InlineFragment(i) => self.walk(&i.node.selection_set.node, depth, stack),
                Selection::FragmentSpread(s) => {
                    let name = &s.node.fragment_name.node;
                    // A cycle is a validation error reported by the executor; stop here.
                    if stack.contains(name) {
                        continue;
                    }
                    if let Some(def) = self.fragments.get(name) {
                        stack.push(name.clone());
                        self.walk(&def.node.selection_set.node, depth, stack);
                        stack.pop();
                    }
                }
            }
        }
    }
}

/// Measures a parsed document (the most expensive operation counts).
pub fn cost(doc: &ExecutableDocument, budget: usize) -> Cost {
    let mut worst = Cost::default();
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(map) => map.values().collect(),
    };
    for op in ops {
        let mut w = Walker {
            fragments: &doc.fragments,
            cost: Cost::default(),
            budget,
        };
        w.walk(&op.node.selection_set.node, 1, &mut Vec::new());
        worst.depth = worst.depth.max(w.cost.depth);
        worst.fields = worst.fields.max(w.cost.fields);
        worst.aliases = worst.aliases.max(w.cost.aliases);
    }
    worst
}

/// Whether every operation selects only `__schema`, `__type` and `__typename` at the top.
fn only_introspection(doc: &ExecutableDocument) -> bool {
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(map) => map.values().collect(),
    };
    ops.iter().all(|op| {
        op.node
            .selection_set
            .node
            .items
            .iter()
            .all(|item| match &item.node {
                Selection::Field(f) => f.node.name.node.starts_with("__"),
                _ => false,
            })
    })
}

/// Checks a query text against the limits and returns the parsed document, so that it is
/// parsed once per request. `Ok(None)` when it does not parse: the executor reports syntax
/// errors itself.
pub fn check(query: &str, limits: &GraphqlLimits) -> Result<Option<ExecutableDocument>, String> {
    if query.len() > limits.query_bytes {
        return Err(format!(
            "the query is {} bytes; at most {} allowed",
            query.len(),
            limits.query_bytes
        ));
    }
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return Ok(None);
    };
    if limits.introspection && only_introspection(&doc) {
        // Bounded by the schema itself; clients' standard introspection queries nest deeply.
        return Ok(Some(doc));
    }
    let c = cost(&doc, limits.complexity);
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
    Ok(Some(doc))
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
        };
        assert_eq!(cost(&doc, 1000), expected);
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
        assert!(check("{ __schema { types { name fields { name type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } } }", &limits).is_ok(), "introspection is exempt");
    }
}
