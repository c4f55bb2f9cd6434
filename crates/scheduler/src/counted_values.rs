//! A sorted multiset of integers: the smallest or largest of many values in O(log n).

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CountedValues {
    counts: BTreeMap<i64, u32>,
}

impl CountedValues {
    pub(crate) fn insert(&mut self, value: i64) {
        *self.counts.entry(value).or_insert(0) += 1;
    }

    pub(crate) fn remove(&mut self, value: i64) {
        match self.counts.get_mut(&value) {
            Some(count) if *count > 1 => *count -= 1,
            Some(_) => {
                self.counts.remove(&value);
            }
            None => debug_assert!(false, "removing {value}, which was never inserted"),
        }
    }

    pub(crate) fn smallest(&self) -> Option<i64> {
        self.counts.keys().next().copied()
    }

    pub(crate) fn largest(&self) -> Option<i64> {
        self.counts.keys().next_back().copied()
    }

    pub(crate) fn from_values(values: impl IntoIterator<Item = i64>) -> Self {
        let mut set = Self::default();
        for value in values {
            set.insert(value);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicates_until_each_is_removed() {
        let mut set = CountedValues::from_values([5, 3, 5, 9]);
        assert_eq!((set.smallest(), set.largest()), (Some(3), Some(9)));
        set.remove(9);
        set.remove(5);
        assert_eq!(set.largest(), Some(5));
        set.remove(5);
        set.remove(3);
        assert_eq!(set.smallest(), None);
    }
}
