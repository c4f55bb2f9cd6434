//! An ordered set whose members count charges: one more missed scheduling opportunity for every
//! member in a key range in O(log n), and the first member (after a key) whose *slack* — charges
//! left before its earliest delay-scheduling deadline — has run low, also in O(log n).
//!
//! Node passes use it to step over runs of applications (and queues) that wait for other hosts
//! without visiting them (`delayed_walk.rs`). It is a treap with lazy propagation: a charge to a
//! subtree is recorded at its root and pushed down when the subtree is opened. Shapes come from a
//! fixed pseudo-random sequence, so a run is deterministic; only speed depends on them.

/// Slack of a member without a deadline.
pub(crate) const NO_DEADLINE: i64 = i64::MAX / 4;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Entry<K> {
    key: K,
    priority: u64,
    left: u32,
    right: u32,
    /// Charges left before this member's deadline (after the charges applied to it).
    slack: i64,
    /// Charges applied to this member since it was listed or its charges were last taken.
    charged: u64,
    /// Least slack in the subtree.
    least: i64,
    /// A charge applied to this entry but not yet to its children.
    pending: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct ChargeSet<K> {
    entries: Vec<Entry<K>>,
    vacant: Vec<u32>,
    root: u32,
    len: usize,
    seed: u64,
}

impl<K> Default for ChargeSet<K> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            vacant: Vec::new(),
            root: NIL,
            len: 0,
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl<K: Ord + Copy> ChargeSet<K> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The least slack of any member (NO_DEADLINE when empty).
    pub(crate) fn least_slack(&self) -> i64 {
        self.least_of(self.root)
    }

    #[inline]
    fn least_of(&self, entry: u32) -> i64 {
        if entry == NIL {
            NO_DEADLINE
        } else {
            self.entries[entry as usize].least
        }
    }

    fn next_priority(&mut self) -> u64 {
        // splitmix64
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[inline]
    fn apply(&mut self, entry: u32, amount: u64) {
        if entry == NIL || amount == 0 {
            return;
        }
        let e = &mut self.entries[entry as usize];
        e.slack = e.slack.saturating_sub(amount as i64);
        e.least = e.least.saturating_sub(amount as i64);
        e.charged += amount;
        e.pending += amount;
    }

    #[inline]
    fn push(&mut self, entry: u32) {
        let e = &mut self.entries[entry as usize];
        let amount = std::mem::take(&mut e.pending);
        if amount > 0 {
            let (left, right) = (e.left, e.right);
            self.apply(left, amount);
            self.apply(right, amount);
        }
    }

    #[inline]
    fn pull(&mut self, entry: u32) {
        let (left, right) = {
            let e = &self.entries[entry as usize];
            (e.left, e.right)
        };
        let least = self.entries[entry as usize]
            .slack
            .min(self.least_of(left))
            .min(self.least_of(right));
        self.entries[entry as usize].least = least;
    }

    /// Splits `tree` into members for which `goes_left` holds (a prefix) and the rest.
    fn split(&mut self, tree: u32, goes_left: &impl Fn(&K) -> bool) -> (u32, u32) {
        if tree == NIL {
            return (NIL, NIL);
        }
        self.push(tree);
        if goes_left(&self.entries[tree as usize].key) {
            let right = self.entries[tree as usize].right;
            let (middle, rest) = self.split(right, goes_left);
            self.entries[tree as usize].right = middle;
            self.pull(tree);
            (tree, rest)
        } else {
            let left = self.entries[tree as usize].left;
            let (prefix, middle) = self.split(left, goes_left);
            self.entries[tree as usize].left = middle;
            self.pull(tree);
            (prefix, tree)
        }
    }

    fn merge(&mut self, left: u32, right: u32) -> u32 {
        if left == NIL {
            return right;
        }
        if right == NIL {
            return left;
        }
        if self.entries[left as usize].priority > self.entries[right as usize].priority {
            self.push(left);
            let inner = self.entries[left as usize].right;
            let merged = self.merge(inner, right);
            self.entries[left as usize].right = merged;
            self.pull(left);
            left
        } else {
            self.push(right);
            let inner = self.entries[right as usize].left;
            let merged = self.merge(left, inner);
            self.entries[right as usize].left = merged;
            self.pull(right);
            right
        }
    }

    /// Lists `key`, which must not be a member, with `slack`.
    pub(crate) fn insert(&mut self, key: K, slack: i64) {
        debug_assert!(!self.contains(&key), "listed twice");
        let entry = Entry {
            key,
            priority: self.next_priority(),
            left: NIL,
            right: NIL,
            slack,
            charged: 0,
            least: slack,
            pending: 0,
        };
        let index = match self.vacant.pop() {
            Some(index) => {
                self.entries[index as usize] = entry;
                index
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        self.root = self.insert_below(self.root, index);
        self.len += 1;
    }

    /// Inserts entry `new` into `tree`: it goes down until its priority wins, and the subtree
    /// there is split around it.
    fn insert_below(&mut self, tree: u32, new: u32) -> u32 {
        if tree == NIL {
            return new;
        }
        if self.entries[new as usize].priority > self.entries[tree as usize].priority {
            let key = self.entries[new as usize].key;
            let (left, right) = self.split(tree, &|k: &K| *k < key);
            let e = &mut self.entries[new as usize];
            e.left = left;
            e.right = right;
            self.pull(new);
            return new;
        }
        self.push(tree);
        if self.entries[new as usize].key < self.entries[tree as usize].key {
            let left = self.entries[tree as usize].left;
            let below = self.insert_below(left, new);
            self.entries[tree as usize].left = below;
        } else {
            let right = self.entries[tree as usize].right;
            let below = self.insert_below(right, new);
            self.entries[tree as usize].right = below;
        }
        self.pull(tree);
        tree
    }

    /// Unlists `key`; the charges it received since it was listed (or last taken), if a member.
    pub(crate) fn remove(&mut self, key: &K) -> Option<u64> {
        let mut charged = None;
        self.root = self.remove_below(self.root, key, &mut charged);
        if charged.is_some() {
            self.len -= 1;
        }
        charged
    }

    fn remove_below(&mut self, tree: u32, key: &K, charged: &mut Option<u64>) -> u32 {
        if tree == NIL {
            return NIL;
        }
        self.push(tree);
        let (left, right) = {
            let e = &self.entries[tree as usize];
            (e.left, e.right)
        };
        match key.cmp(&self.entries[tree as usize].key) {
            std::cmp::Ordering::Equal => {
                *charged = Some(self.entries[tree as usize].charged);
                self.vacant.push(tree);
                return self.merge(left, right);
            }
            std::cmp::Ordering::Less => {
                let below = self.remove_below(left, key, charged);
                self.entries[tree as usize].left = below;
            }
            std::cmp::Ordering::Greater => {
                let below = self.remove_below(right, key, charged);
                self.entries[tree as usize].right = below;
            }
        }
        if charged.is_some() {
            self.pull(tree);
        }
        tree
    }

    /// Takes the charges `key` received since it was listed (or last taken), leaving it listed
    /// with its slack; 0 if not a member.
    pub(crate) fn take_charges(&mut self, key: &K) -> u64 {
        let mut entry = self.root;
        while entry != NIL {
            self.push(entry);
            let e = &mut self.entries[entry as usize];
            match key.cmp(&e.key) {
                std::cmp::Ordering::Less => entry = e.left,
                std::cmp::Ordering::Greater => entry = e.right,
                std::cmp::Ordering::Equal => return std::mem::take(&mut e.charged),
            }
        }
        0
    }

    /// The charges `key` has received and not yet given up, read without changing anything.
    pub(crate) fn charges_of(&self, key: &K) -> Option<u64> {
        let mut entry = self.root;
        let mut above = 0;
        while entry != NIL {
            let e = &self.entries[entry as usize];
            match key.cmp(&e.key) {
                std::cmp::Ordering::Less => entry = e.left,
                std::cmp::Ordering::Greater => entry = e.right,
                std::cmp::Ordering::Equal => return Some(e.charged + above),
            }
            above += e.pending;
        }
        None
    }

    /// Charges `amount` to every member after `after` (from the first if None) and before
    /// `before` (to the last if None). Descends the two boundary paths; nothing is restructured.
    pub(crate) fn charge_between(&mut self, after: Option<&K>, before: Option<&K>, amount: u64) {
        if amount > 0 {
            self.charge_range(self.root, after, before, amount);
        }
    }

    fn charge_range(&mut self, entry: u32, after: Option<&K>, before: Option<&K>, amount: u64) {
        if entry == NIL {
            return;
        }
        if after.is_none() && before.is_none() {
            self.apply(entry, amount);
            return;
        }
        self.push(entry);
        let (key, left, right) = {
            let e = &self.entries[entry as usize];
            (e.key, e.left, e.right)
        };
        if after.is_some_and(|after| key <= *after) {
            self.charge_range(right, after, before, amount);
        } else if before.is_some_and(|before| key >= *before) {
            self.charge_range(left, after, before, amount);
        } else {
            // The entry is in range: so is all of its left subtree above `after` and all of its
            // right subtree below `before`.
            self.charge_range(left, after, None, amount);
            self.charge_range(right, None, before, amount);
            let e = &mut self.entries[entry as usize];
            e.slack = e.slack.saturating_sub(amount as i64);
            e.charged += amount;
        }
        self.pull(entry);
    }

    /// Sets a member's slack (its charges stay); false if not a member.
    pub(crate) fn set_slack(&mut self, key: &K, slack: i64) -> bool {
        self.set_slack_below(self.root, key, slack)
    }

    fn set_slack_below(&mut self, entry: u32, key: &K, slack: i64) -> bool {
        if entry == NIL {
            return false;
        }
        self.push(entry);
        let found = match key.cmp(&self.entries[entry as usize].key) {
            std::cmp::Ordering::Less => {
                let left = self.entries[entry as usize].left;
                self.set_slack_below(left, key, slack)
            }
            std::cmp::Ordering::Greater => {
                let right = self.entries[entry as usize].right;
                self.set_slack_below(right, key, slack)
            }
            std::cmp::Ordering::Equal => {
                self.entries[entry as usize].slack = slack;
                true
            }
        };
        if found {
            self.pull(entry);
        }
        found
    }

    /// Charges `amount` to every member.
    pub(crate) fn charge_all(&mut self, amount: u64) {
        let root = self.root;
        self.apply(root, amount);
    }

    /// The first member after `after` (from the first if None) whose slack is at most
    /// `at_most`.
    pub(crate) fn first_with_slack_at_most(
        &mut self,
        after: Option<&K>,
        at_most: i64,
    ) -> Option<K> {
        self.find_low(self.root, after, at_most)
    }

    fn find_low(&mut self, entry: u32, after: Option<&K>, at_most: i64) -> Option<K> {
        if entry == NIL || self.entries[entry as usize].least > at_most {
            return None;
        }
        self.push(entry);
        let (key, left, right, slack) = {
            let e = &self.entries[entry as usize];
            (e.key, e.left, e.right, e.slack)
        };
        if after.is_some_and(|after| key <= *after) {
            return self.find_low(right, after, at_most);
        }
        if let Some(found) = self.find_low(left, after, at_most) {
            return Some(found);
        }
        if slack <= at_most {
            return Some(key);
        }
        self.find_low(right, None, at_most)
    }

    /// Members in order with their slack and charges (for invariant checks and explanations).
    pub(crate) fn members(&self) -> Vec<(K, i64, u64)> {
        let mut out = Vec::with_capacity(self.len);
        self.collect(self.root, 0, &mut out);
        out
    }

    fn collect(&self, entry: u32, above: u64, out: &mut Vec<(K, i64, u64)>) {
        if entry == NIL {
            return;
        }
        let e = &self.entries[entry as usize];
        self.collect(e.left, above + e.pending, out);
        out.push((e.key, e.slack - above as i64, e.charged + above));
        self.collect(e.right, above + e.pending, out);
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.charges_of(key).is_some()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.vacant.clear();
        self.root = NIL;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The same operations on a plain map: (slack, charged) per key.
    #[derive(Default)]
    struct Model(BTreeMap<u32, (i64, u64)>);

    #[test]
    fn agrees_with_a_plain_map_under_random_operations() {
        let mut set = ChargeSet::<u32>::default();
        let mut model = Model::default();
        let mut state = 7u64;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for _ in 0..20_000 {
            match next(7) {
                0 | 1 => {
                    let key = next(200) as u32;
                    let slack = next(50) as i64;
                    if let std::collections::btree_map::Entry::Vacant(entry) = model.0.entry(key) {
                        set.insert(key, slack);
                        entry.insert((slack, 0));
                    }
                }
                2 => {
                    let key = next(200) as u32;
                    assert_eq!(set.remove(&key), model.0.remove(&key).map(|(_, c)| c));
                }
                3 => {
                    let (a, b) = (next(220) as u32, next(220) as u32);
                    let after = (a < 200).then_some(a);
                    let before = (b < 200).then_some(b);
                    set.charge_between(after.as_ref(), before.as_ref(), 1);
                    for (key, (slack, charged)) in model.0.iter_mut() {
                        if after.is_none_or(|a| *key > a) && before.is_none_or(|b| *key < b) {
                            *slack -= 1;
                            *charged += 1;
                        }
                    }
                }
                4 if next(2) == 0 => {
                    let key = next(200) as u32;
                    let slack = next(50) as i64;
                    let found = set.set_slack(&key, slack);
                    assert_eq!(found, model.0.contains_key(&key));
                    if let Some(entry) = model.0.get_mut(&key) {
                        entry.0 = slack;
                    }
                }
                4 => {
                    let key = next(200) as u32;
                    let taken = set.take_charges(&key);
                    let expected = model.0.get_mut(&key).map_or(0, |(_, c)| std::mem::take(c));
                    assert_eq!(taken, expected);
                }
                5 => {
                    let a = next(220) as u32;
                    let after = (a < 200).then_some(a);
                    let at_most = next(30) as i64;
                    let expected = model
                        .0
                        .iter()
                        .find(|(key, (slack, _))| {
                            after.is_none_or(|a| **key > a) && *slack <= at_most
                        })
                        .map(|(key, _)| *key);
                    assert_eq!(
                        set.first_with_slack_at_most(after.as_ref(), at_most),
                        expected
                    );
                }
                _ => {
                    set.charge_all(2);
                    for (slack, charged) in model.0.values_mut() {
                        *slack -= 2;
                        *charged += 2;
                    }
                }
            }
            assert_eq!(set.len(), model.0.len());
            let expected_least = model
                .0
                .values()
                .map(|(s, _)| *s)
                .min()
                .unwrap_or(NO_DEADLINE);
            assert_eq!(set.least_slack(), expected_least);
        }
        let members: Vec<(u32, i64, u64)> =
            model.0.iter().map(|(k, (s, c))| (*k, *s, *c)).collect();
        assert_eq!(set.members(), members);
        for (key, _, charged) in &members {
            assert_eq!(set.charges_of(key), Some(*charged));
        }
    }
}
