//! The discrete-event queue: events ordered by virtual time, ties broken by the order they
//! were scheduled in, so a run is the same every time.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    time_ms: i64,
    sequence: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time_ms, self.sequence) == (other.time_ms, other.sequence)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed: the heap's greatest entry is the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_ms, other.sequence).cmp(&(self.time_ms, self.sequence))
    }
}

pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_sequence: u64,
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_sequence: 0,
        }
    }

    pub(crate) fn schedule(&mut self, time_ms: i64, event: E) {
        self.heap.push(Entry {
            time_ms,
            sequence: self.next_sequence,
            event,
        });
        self.next_sequence += 1;
    }

    /// The earliest event; among events at the same time, the first scheduled.
    pub(crate) fn pop(&mut self) -> Option<(i64, E)> {
        self.heap.pop().map(|entry| (entry.time_ms, entry.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_ties_in_scheduling_order() {
        let mut queue = EventQueue::new();
        queue.schedule(30, "c");
        queue.schedule(10, "a1");
        queue.schedule(20, "b");
        queue.schedule(10, "a2");
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(order, vec![(10, "a1"), (10, "a2"), (20, "b"), (30, "c")]);
    }
}
