//! Puts an answer's fields in selection order. The executor resolves a selection's fields
//! concurrently and collects them as they complete, but the GraphQL specification orders the
//! response map by the selection set (CollectFields): clients that read the JSON in order, and
//! the response cache that stores it, must see the same order every time.

use async_graphql::Name;
use async_graphql::Value;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use indexmap::IndexMap;

/// The operation a request runs: the one named, or the only one (a document with one named
/// operation may be sent without `operationName`).
pub fn operation<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match &doc.operations {
        DocumentOperations::Single(op) => Some(&op.node),
        DocumentOperations::Multiple(ops) => match name {
            Some(n) => ops
                .iter()
                .find(|(k, _)| k.as_str() == n)
                .map(|(_, o)| &o.node),
            None if ops.len() == 1 => ops.values().next().map(|o| &o.node),
            None => None,
        },
    }
}

/// Reorders `data`, the answer to the operation `name` of `doc`, by its selection sets.
pub fn by_selection(doc: &ExecutableDocument, name: Option<&str>, data: &mut Value) {
    if let Some(op) = operation(doc, name) {
        reorder(doc, &[&op.selection_set.node], data);
    }
}

/// The response keys `sets` select, in order of first appearance, each with the selection sets
/// of its sub-fields (a key selected twice merges both).
fn collect<'a>(
    doc: &'a ExecutableDocument,
    sets: &[&'a SelectionSet],
    visited: &mut Vec<&'a Name>,
    out: &mut IndexMap<&'a Name, Vec<&'a SelectionSet>>,
) {
    for set in sets {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let children = out.entry(&f.node.response_key().node).or_default();
                    if !f.node.selection_set.node.items.is_empty() {
                        children.push(&f.node.selection_set.node);
                    }
                }
                Selection::InlineFragment(i) => {
                    collect(doc, &[&i.node.selection_set.node], visited, out)
                }
                Selection::FragmentSpread(s) => {
                    let name = &s.node.fragment_name.node;
                    if visited.contains(&name) {
                        continue;
                    }
                    if let Some(def) = doc.fragments.get(name) {
                        visited.push(name);
                        collect(doc, &[&def.node.selection_set.node], visited, out);
                        visited.pop();
                    }
                }
            }
        }
    }
}

fn reorder(doc: &ExecutableDocument, sets: &[&SelectionSet], value: &mut Value) {
    if !matches!(value, Value::List(_) | Value::Object(_)) {
        return;
    }
    // The keys are the same for every item of a list: collected once.
    let mut keys = IndexMap::new();
    collect(doc, sets, &mut Vec::new(), &mut keys);
    apply(doc, &keys, value);
}

/// Moves the entries of `value` (each object of a list) into the order of `keys`. Nothing moves,
/// and nothing is allocated, when the executor already produced that order.
fn apply(doc: &ExecutableDocument, keys: &IndexMap<&Name, Vec<&SelectionSet>>, value: &mut Value) {
    match value {
        Value::List(items) => {
            for item in items {
                apply(doc, keys, item);
            }
        }
        Value::Object(map) => {
            let mut at = 0;
            for (key, children) in keys {
                let index = match map.get_index(at) {
                    Some((k, _)) if k == *key => at,
                    _ => match map.get_index_of(*key) {
                        Some(i) => {
                            map.move_index(i, at);
                            at
                        }
                        None => continue,
                    },
                };
                at += 1;
                if !children.is_empty()
                    && let Some((_, v)) = map.get_index_mut(index)
                {
                    reorder(doc, children, v);
                }
            }
            // Anything the selection does not name (none expected) stays after the rest.
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_follow_the_selection_through_fragments_and_lists() {
        let doc = async_graphql::parser::parse_query(
            "query { c1: a { y x } c3: b ...F c2: a { x } } fragment F on Query { c4: list { ... on T { q p } } }",
        )
        .expect("parse");
        let mut data = Value::from_json(serde_json::json!({
            "c4": [{"p": 1, "q": 2}, {"p": 3, "q": 4}],
            "c2": {"x": 1},
            "c3": 3,
            "c1": {"x": 1, "y": 2},
        }))
        .expect("value");
        by_selection(&doc, None, &mut data);
        assert_eq!(
            data.into_json().expect("json").to_string(),
            r#"{"c1":{"y":2,"x":1},"c3":3,"c4":[{"q":2,"p":1},{"q":4,"p":3}],"c2":{"x":1}}"#
        );
    }

    #[test]
    fn items_already_in_order_stay_and_the_others_move() {
        let doc = async_graphql::parser::parse_query("{ c1 { a b } }").expect("parse");
        let mut data = Value::from_json(serde_json::json!({
            "c1": [{"a": 1, "b": 2}, {"b": 3, "z": 0, "a": 4}, {"b": 5}],
        }))
        .expect("value");
        by_selection(&doc, None, &mut data);
        assert_eq!(
            data.into_json().expect("json").to_string(),
            r#"{"c1":[{"a":1,"b":2},{"a":4,"b":3,"z":0},{"b":5}]}"#
        );
    }
}
