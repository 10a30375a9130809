//! Picks a compound index for a list: equality filters on an index's leading fields, and (in a
//! page) a sort on the field right after them, become one range of that index's keys.
//!
//! Without one, a filtered, sorted page tests each row of the sort index against the list of
//! ids every filter matches, so its cost grows with the matches, not the page. With one, the
//! database reads a page of keys in order and stops (see `CompoundRange`).

use super::model::{CompoundIndex, ContentType};
use super::values::push_key_part;
use crate::store::entries::{CompoundRange, Cond, IndexOp, ListQuery, SortKey, SortTarget};

/// What the list needs from the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A page in sort order: the sort key must be the index field after the equal ones.
    Page,
    /// Counts and groups: only the matching set matters.
    Matches,
}

/// Rewrites `q` to read a compound index range where one fits: the equality conditions it
/// stands for leave `q.cond`, and the index with the most of them wins. `locale` is the
/// list's locale (the one localized fields are compared in).
pub fn plan(ct: &ContentType, q: &mut ListQuery, locale: &str, usage: Use) {
    if ct.indexes.is_empty() || q.compound.is_some() {
        return;
    }
    let sort_field = match (usage, q.sort.as_slice()) {
        (
            Use::Page,
            [
                SortKey {
                    target: SortTarget::Field { field, locale: l },
                    ..
                },
            ],
        ) => Some((field.clone(), l.clone())),
        (Use::Page, _) => return,
        (Use::Matches, _) => None,
    };
    let parts: Vec<Cond> = match q.cond.take() {
        Some(Cond::And(cs)) => cs,
        Some(c) => vec![c],
        None => Vec::new(),
    };
    // The locale a field's rows carry in this list.
    let locale_of = |name: &str| {
        if ct.field(name).is_some_and(|f| f.localized) {
            locale.to_owned()
        } else {
            String::new()
        }
    };
    let equal = |name: &str| {
        let want = locale_of(name);
        parts.iter().position(|c| {
            matches!(c, Cond::Index { field, locale, op: IndexOp::Eq(_) } if field == name && *locale == want)
        })
    };
    let mut best: Option<(&CompoundIndex, Vec<usize>)> = None;
    for index in &ct.indexes {
        let leading: Vec<usize> = index.fields.iter().map_while(|f| equal(f)).collect();
        let usable = match &sort_field {
            Some((field, l)) => {
                leading.len() < index.fields.len()
                    && &index.fields[leading.len()] == field
                    && *l == locale_of(field)
            }
            None => true,
        };
        if usable
            && !leading.is_empty()
            && best.as_ref().is_none_or(|(_, b)| leading.len() > b.len())
        {
            best = Some((index, leading));
        }
    }
    let Some((index, used)) = best else {
        q.cond = rejoin(parts);
        return;
    };
    let mut prefix = String::new();
    for &i in &used {
        if let Cond::Index {
            op: IndexOp::Eq(v), ..
        } = &parts[i]
        {
            push_key_part(&mut prefix, v);
        }
    }
    let rest = parts
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, c)| c)
        .collect();
    q.cond = rejoin(rest);
    q.compound = Some(CompoundRange {
        field: index.key_name(),
        locale: if index.localized {
            locale.to_owned()
        } else {
            String::new()
        },
        prefix,
    });
}

fn rejoin(mut parts: Vec<Cond>) -> Option<Cond> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(Cond::And(parts)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::model::builtin_types;
    use crate::store::entries::Stage;

    fn eq(field: &str, v: &str) -> Cond {
        Cond::Index {
            field: field.into(),
            locale: String::new(),
            op: IndexOp::Eq(v.into()),
        }
    }

    fn query(cond: Option<Cond>, sort: &str) -> ListQuery {
        ListQuery {
            stage: Stage::Published,
            entry_type: "artisan".into(),
            cond,
            sort: vec![SortKey {
                target: SortTarget::Field {
                    field: sort.into(),
                    locale: if sort == "name" {
                        "ar".into()
                    } else {
                        String::new()
                    },
                },
                desc: false,
            }],
            after: None,
            until: None,
            owner: None,
            limit: 21,
            backward: false,
            compound: None,
        }
    }

    #[test]
    fn leading_equalities_and_the_next_sort_use_the_index() {
        let artisan = builtin_types().remove(2);
        let other = Cond::Index {
            field: "province".into(),
            locale: String::new(),
            op: IndexOp::Eq("الحوز".into()),
        };
        let mut q = query(
            Some(Cond::And(vec![
                eq("city", "مراكش"),
                other.clone(),
                eq("craft", "زليج"),
            ])),
            "name",
        );
        plan(&artisan, &mut q, "ar", Use::Page);
        assert_eq!(
            q.compound,
            Some(CompoundRange {
                field: "craft+city+name".into(),
                locale: "ar".into(),
                prefix: "زليج\u{1}مراكش\u{1}".into(),
            })
        );
        assert_eq!(q.cond, Some(other));

        // The sort must follow the equal fields; otherwise nothing changes.
        for (cond, sort) in [
            (
                Cond::And(vec![eq("craft", "زليج"), eq("city", "مراكش")]),
                "craft",
            ),
            (eq("city", "مراكش"), "name"),
        ] {
            let mut q = query(Some(cond.clone()), sort);
            plan(&artisan, &mut q, "ar", Use::Page);
            assert_eq!((q.compound, q.cond), (None, Some(cond)));
        }

        // Counting needs only the leading equalities.
        let mut q = query(Some(eq("craft", "زليج")), "createdAt");
        plan(&artisan, &mut q, "fr", Use::Matches);
        assert_eq!(q.cond, None);
        assert_eq!(
            q.compound.map(|c| (c.locale, c.prefix)),
            Some(("fr".into(), "زليج\u{1}".into()))
        );
    }
}
