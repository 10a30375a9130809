//! Facet counts of the embedded index: how many matches have each value of the requested
//! attributes (`/city/مراكش`, `/type/article`).
//!
//! tantivy's `FacetCollector` reads each match's facet ordinals through the columnar format
//! (an optional index, then bit-unpacking, per value) and maps each to its requested root, for
//! every search. A segment never changes once written, so its documents' ordinals are read
//! once into two flat arrays and its ordinals' values once into a table; a search then counts
//! with one array walk per match. Deleted documents are skipped by tantivy before they reach
//! the collector.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::index::SegmentId;
use tantivy::schema::Facet;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// The facet field of the embedded schema.
const FIELD: &str = "attrs";

/// One segment's facet ordinals, by document, and what each ordinal stands for.
pub struct SegmentFacets {
    /// `ords[offsets[doc]..offsets[doc + 1]]` are the document's ordinals.
    offsets: Vec<u32>,
    ords: Vec<u32>,
    /// Each ordinal's `(attribute, value)`; `None` for a facet of another shape.
    values: Vec<Option<(String, String)>>,
}

fn too_large(what: &str) -> tantivy::TantivyError {
    tantivy::TantivyError::InvalidArgument(format!("too many facet {what} in one segment"))
}

impl SegmentFacets {
    fn read(reader: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let facets = reader.facet_reader(FIELD)?;
        let mut values = Vec::with_capacity(facets.num_facets());
        let mut facet = Facet::root();
        for ord in 0..facets.num_facets() as u64 {
            facets.facet_from_ord(ord, &mut facet)?;
            values.push(match facet.to_path().as_slice() {
                [attribute, value] => Some(((*attribute).to_owned(), (*value).to_owned())),
                _ => None,
            });
        }
        let mut offsets = Vec::with_capacity(reader.max_doc() as usize + 1);
        let mut ords = Vec::new();
        offsets.push(0);
        for doc in 0..reader.max_doc() {
            for ord in facets.facet_ords(doc) {
                ords.push(u32::try_from(ord).map_err(|_| too_large("values"))?);
            }
            offsets.push(u32::try_from(ords.len()).map_err(|_| too_large("entries"))?);
        }
        Ok(SegmentFacets {
            offsets,
            ords,
            values,
        })
    }

    fn ords(&self, doc: DocId) -> &[u32] {
        let at = |d: usize| self.offsets.get(d).map_or(0, |&o| o as usize);
        let doc = doc as usize;
        self.ords.get(at(doc)..at(doc + 1)).unwrap_or_default()
    }
}

/// The segments' facet tables of one index, kept while their segments are searched.
#[derive(Default)]
pub struct FacetCache {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentFacets>>>,
}

impl FacetCache {
    fn segment(&self, reader: &SegmentReader) -> tantivy::Result<Arc<SegmentFacets>> {
        let id = reader.segment_id();
        if let Some(s) = self.lock().get(&id) {
            return Ok(s.clone());
        }
        // Read outside the lock: two searches may both read a new segment, one keeps it.
        let read = Arc::new(SegmentFacets::read(reader)?);
        Ok(self.lock().entry(id).or_insert(read).clone())
    }

    /// Drops the tables of segments the searcher no longer has (merged or deleted).
    pub fn retain(&self, searcher: &tantivy::Searcher) {
        let live: HashSet<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(SegmentReader::segment_id)
            .collect();
        self.lock().retain(|id, _| live.contains(id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Arc<SegmentFacets>>> {
        self.segments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The count of matches and, for each requested attribute, its values' counts (the most
/// frequent first, then by value; at most `limit` per attribute).
pub type Counts = (usize, Vec<(String, Vec<(String, u64)>)>);

/// Counts matches and their values of the requested attributes, without scoring.
pub struct FacetCounter<'a> {
    pub cache: &'a FacetCache,
    pub attributes: &'a [String],
    pub limit: usize,
}

pub struct SegmentCounter {
    segment: Arc<SegmentFacets>,
    matches: usize,
    counts: Vec<u64>,
}

/// One segment's count of matches and its counts by ordinal, with the table that names them:
/// values are looked up (and copied) once, for the merged counts, not once per segment.
pub type SegmentFruit = (usize, Arc<SegmentFacets>, Vec<u64>);

impl SegmentCollector for SegmentCounter {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.matches += 1;
        for &ord in self.segment.ords(doc) {
            if let Some(c) = self.counts.get_mut(ord as usize) {
                *c += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        (self.matches, self.segment, self.counts)
    }
}

impl Collector for FacetCounter<'_> {
    type Fruit = Counts;
    type Child = SegmentCounter;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentCounter> {
        let segment = self.cache.segment(reader)?;
        let counts = vec![0; segment.values.len()];
        Ok(SegmentCounter {
            segment,
            matches: 0,
            counts,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<Counts> {
        let mut matches = 0;
        let mut by_attribute: HashMap<&str, HashMap<&str, u64>> = HashMap::new();
        for (n, segment, counts) in &fruits {
            matches += n;
            for (c, value) in counts.iter().zip(&segment.values) {
                let Some((attribute, value)) = value.as_ref().filter(|_| *c > 0) else {
                    continue;
                };
                if let Some(wanted) = self.attributes.iter().find(|a| *a == attribute) {
                    *by_attribute
                        .entry(wanted.as_str())
                        .or_default()
                        .entry(value.as_str())
                        .or_default() += c;
                }
            }
        }
        let facets = self
            .attributes
            .iter()
            .map(|attribute| {
                let mut values: Vec<(&str, u64)> = by_attribute
                    .remove(attribute.as_str())
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
                values.truncate(self.limit);
                let values = values.into_iter().map(|(v, c)| (v.to_owned(), c)).collect();
                (attribute.clone(), values)
            })
            .collect();
        Ok((matches, facets))
    }
}
