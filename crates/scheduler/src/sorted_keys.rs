//! A small ordered set kept as a sorted vector: a parent queue's children in offer order.
//!
//! A child's key moves a little with every container its queues gain or lose; moving it inside
//! a sorted vector is two binary searches and a short shift, where a B-tree removes and inserts
//! (and may free and allocate nodes) each time.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SortedKeys<K> {
    keys: Vec<K>,
}

impl<K> Default for SortedKeys<K> {
    fn default() -> Self {
        Self { keys: Vec::new() }
    }
}

impl<K: Ord + Copy> SortedKeys<K> {
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn clear(&mut self) {
        self.keys.clear();
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, K> {
        self.keys.iter()
    }

    /// The smallest key, or the smallest above `after`.
    pub(crate) fn next_after(&self, after: Option<&K>) -> Option<&K> {
        let position = match after {
            None => 0,
            Some(after) => match self.keys.binary_search(after) {
                Ok(position) => position + 1,
                Err(position) => position,
            },
        };
        self.keys.get(position)
    }

    /// Adds `key`; false if it was there.
    pub(crate) fn insert(&mut self, key: K) -> bool {
        match self.keys.binary_search(&key) {
            Ok(_) => false,
            Err(position) => {
                self.keys.insert(position, key);
                true
            }
        }
    }

    /// Removes `key`; false if it was not there.
    pub(crate) fn remove(&mut self, key: &K) -> bool {
        match self.keys.binary_search(key) {
            Ok(position) => {
                self.keys.remove(position);
                true
            }
            Err(_) => false,
        }
    }

    /// Replaces `old` (which must be present) with `new`, shifting only the keys between them.
    pub(crate) fn replace(&mut self, old: &K, new: K) {
        let Ok(from) = self.keys.binary_search(old) else {
            debug_assert!(false, "replacing a key that is not there");
            self.insert(new);
            return;
        };
        let to = match self.keys.binary_search(&new) {
            Ok(position) | Err(position) => position,
        };
        match to.cmp(&from) {
            Ordering::Greater => {
                self.keys[from..to].rotate_left(1);
                self.keys[to - 1] = new;
            }
            Ordering::Less | Ordering::Equal => {
                self.keys[to..=from].rotate_right(1);
                self.keys[to] = new;
            }
        }
    }
}

impl<K: Ord + Copy> FromIterator<K> for SortedKeys<K> {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut keys: Vec<K> = iter.into_iter().collect();
        keys.sort_unstable();
        keys.dedup();
        Self { keys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_moves_a_key_either_way_and_keeps_the_order() {
        let mut keys: SortedKeys<u32> = [10, 20, 30, 40, 50].into_iter().collect();
        keys.replace(&20, 45);
        assert_eq!(keys.iter().copied().collect::<Vec<_>>(), [10, 30, 40, 45, 50]);
        keys.replace(&45, 5);
        assert_eq!(keys.iter().copied().collect::<Vec<_>>(), [5, 10, 30, 40, 50]);
        keys.replace(&30, 31);
        assert_eq!(keys.iter().copied().collect::<Vec<_>>(), [5, 10, 31, 40, 50]);
        keys.replace(&50, 60);
        keys.replace(&5, 1);
        assert_eq!(keys.iter().copied().collect::<Vec<_>>(), [1, 10, 31, 40, 60]);
    }

    #[test]
    fn next_after_steps_through_in_order() {
        let mut keys = SortedKeys::default();
        for key in [3, 1, 2] {
            assert!(keys.insert(key));
        }
        assert!(!keys.insert(2));
        assert_eq!(keys.next_after(None), Some(&1));
        assert_eq!(keys.next_after(Some(&1)), Some(&2));
        assert_eq!(keys.next_after(Some(&3)), None);
        assert!(keys.remove(&2) && !keys.remove(&2));
        assert_eq!(keys.next_after(Some(&1)), Some(&3));
        assert_eq!(keys.len(), 2);
    }
}
