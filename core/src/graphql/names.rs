//! Every GraphQL name derived from a content type, in one place.

/// `article` → `Article`, `newsItem` → `NewsItem`.
pub fn pascal(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The names of one content type's GraphQL artefacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeNames {
    pub object: String,
    pub single: String,
    pub list: String,
    pub connection: String,
    pub edge: String,
    pub where_input: String,
    pub order_by: String,
    pub sort_field: String,
    pub create_input: String,
    pub update_input: String,
    pub create: String,
    pub update: String,
    pub delete: String,
    pub publish: String,
    pub unpublish: String,
    pub schedule: String,
    /// `articlesAggregate`: counts per value of filterable fields.
    pub aggregate: String,
    /// `ArticleGroupField`: the fields an aggregate groups by.
    pub group_field: String,
    /// Batch mutations: `createArticles`, `updateArticles`, `deleteArticles`.
    pub create_many: String,
    pub update_many: String,
    pub delete_many: String,
    /// `ArticleWriteResult`: one item of a batch write.
    pub write_result: String,
    /// `ArticleBatchUpdate`: one update of a batch.
    pub batch_update: String,
}

impl TypeNames {
    pub fn new(name: &str, plural: &str) -> Self {
        let o = pascal(name);
        TypeNames {
            single: name.to_owned(),
            list: plural.to_owned(),
            connection: format!("{o}Connection"),
            edge: format!("{o}Edge"),
            where_input: format!("{o}Where"),
            order_by: format!("{o}OrderBy"),
            sort_field: format!("{o}SortField"),
            create_input: format!("{o}CreateInput"),
            update_input: format!("{o}UpdateInput"),
            create: format!("create{o}"),
            update: format!("update{o}"),
            delete: format!("delete{o}"),
            publish: format!("publish{o}"),
            unpublish: format!("unpublish{o}"),
            schedule: format!("schedule{o}"),
            aggregate: format!("{plural}Aggregate"),
            group_field: format!("{o}GroupField"),
            create_many: format!("create{}", pascal(plural)),
            update_many: format!("update{}", pascal(plural)),
            delete_many: format!("delete{}", pascal(plural)),
            write_result: format!("{o}WriteResult"),
            batch_update: format!("{o}BatchUpdate"),
            object: o,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec() {
        let n = TypeNames::new("article", "articles");
        assert_eq!(n.object, "Article");
        assert_eq!(
            (n.single.as_str(), n.list.as_str()),
            ("article", "articles")
        );
        assert_eq!(n.where_input, "ArticleWhere");
        assert_eq!(n.order_by, "ArticleOrderBy");
        assert_eq!(n.sort_field, "ArticleSortField");
        assert_eq!(n.connection, "ArticleConnection");
        assert_eq!(n.create_input, "ArticleCreateInput");
        assert_eq!(
            (n.create.as_str(), n.unpublish.as_str()),
            ("createArticle", "unpublishArticle")
        );
        assert_eq!(
            (n.create_many.as_str(), n.write_result.as_str()),
            ("createArticles", "ArticleWriteResult")
        );
        assert_eq!(pascal("newsItem"), "NewsItem");
    }
}
