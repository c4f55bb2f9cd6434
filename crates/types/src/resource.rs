//! A resource vector: memory (MB), virtual cores, and any configured countable resource types.

use std::fmt;

/// Name of YARN's GPU resource type.
pub const GPU: &str = "yarn.io/gpu";
/// Name of YARN's memory resource type.
pub const MEMORY_MB: &str = "memory-mb";
/// Name of YARN's CPU resource type.
pub const VCORES: &str = "vcores";

/// Resources of a node, a container, a queue or an ask.
///
/// `others` holds extra resource types sorted by name, each at most once; it is `None` (and costs
/// one word, no allocation) on clusters that only use memory and vcores, and never `Some` of an
/// empty list. Resources are copied into every node, container and ask record, so the common
/// case stays small: 24 bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Resource {
    pub memory_mb: i64,
    pub vcores: i64,
    // A thin pointer (`Box<Vec>`, not `Box<[_]>`): one word when unused.
    #[allow(clippy::box_collection)]
    others: Option<Box<Vec<(String, i64)>>>,
}

impl Resource {
    pub const ZERO: Resource = Resource {
        memory_mb: 0,
        vcores: 0,
        others: None,
    };

    pub fn new(memory_mb: i64, vcores: i64) -> Self {
        Self {
            memory_mb,
            vcores,
            others: None,
        }
    }

    /// This resource with `name` set to `value` (0 removes it).
    pub fn with(mut self, name: &str, value: i64) -> Self {
        self.set(name, value);
        self
    }

    pub fn set(&mut self, name: &str, value: i64) {
        match name {
            MEMORY_MB => self.memory_mb = value,
            VCORES => self.vcores = value,
            _ => match self
                .others()
                .binary_search_by(|(n, _)| n.as_str().cmp(name))
            {
                Ok(i) if value != 0 => self.others.as_mut().expect("found in others")[i].1 = value,
                Err(_) if value == 0 => {}
                found => {
                    let mut others = self.others.take().map(|o| *o).unwrap_or_default();
                    match found {
                        Ok(i) => {
                            others.remove(i);
                        }
                        Err(i) => others.insert(i, (name.to_string(), value)),
                    }
                    self.others = (!others.is_empty()).then(|| Box::new(others));
                }
            },
        }
    }

    pub fn get(&self, name: &str) -> i64 {
        match name {
            MEMORY_MB => self.memory_mb,
            VCORES => self.vcores,
            _ => {
                let others = self.others();
                others
                    .binary_search_by(|(n, _)| n.as_str().cmp(name))
                    .map(|i| others[i].1)
                    .unwrap_or(0)
            }
        }
    }

    /// The extra resource types (beyond memory and vcores) with non-zero values.
    pub fn others(&self) -> &[(String, i64)] {
        self.others.as_deref().map(Vec::as_slice).unwrap_or(&[])
    }

    fn zip_with(&self, other: &Resource, f: impl Fn(i64, i64) -> i64) -> Resource {
        let mut out = Resource::new(
            f(self.memory_mb, other.memory_mb),
            f(self.vcores, other.vcores),
        );
        for (n, v) in self.others() {
            out.set(n, f(*v, other.get(n)));
        }
        for (n, v) in other.others() {
            if self.get(n) == 0 {
                out.set(n, f(0, *v));
            }
        }
        out
    }

    pub fn add(&self, other: &Resource) -> Resource {
        self.zip_with(other, |a, b| a + b)
    }

    pub fn sub(&self, other: &Resource) -> Resource {
        self.zip_with(other, |a, b| a - b)
    }

    pub fn add_assign(&mut self, other: &Resource) {
        if self.others.is_none() && other.others.is_none() {
            self.memory_mb += other.memory_mb;
            self.vcores += other.vcores;
        } else {
            *self = self.add(other);
        }
    }

    pub fn sub_assign(&mut self, other: &Resource) {
        if self.others.is_none() && other.others.is_none() {
            self.memory_mb -= other.memory_mb;
            self.vcores -= other.vcores;
        } else {
            *self = self.sub(other);
        }
    }

    pub fn multiply(&self, n: i64) -> Resource {
        let mut out = Resource::new(self.memory_mb * n, self.vcores * n);
        for (name, v) in self.others() {
            out.set(name, v * n);
        }
        out
    }

    /// Every component of `self` is at least the same component of `other`.
    pub fn fits(&self, other: &Resource) -> bool {
        other.memory_mb <= self.memory_mb
            && other.vcores <= self.vcores
            && other.others().iter().all(|(n, v)| *v <= self.get(n))
    }

    pub fn any_negative(&self) -> bool {
        self.memory_mb < 0 || self.vcores < 0 || self.others().iter().any(|(_, v)| *v < 0)
    }

    pub fn is_zero(&self) -> bool {
        self.memory_mb == 0 && self.vcores == 0 && self.others.is_none()
    }

    /// Component-wise maximum.
    pub fn max(&self, other: &Resource) -> Resource {
        self.zip_with(other, i64::max)
    }

    /// Component-wise minimum.
    pub fn min(&self, other: &Resource) -> Resource {
        self.zip_with(other, i64::min)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<memory:{}, vCores:{}", self.memory_mb, self.vcores)?;
        for (n, v) in self.others() {
            write!(f, ", {n}: {v}")?;
        }
        f.write_str(">")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_over_all_types() {
        let a = Resource::new(1024, 2).with(GPU, 1);
        let b = Resource::new(512, 1);
        assert_eq!(a.add(&b), Resource::new(1536, 3).with(GPU, 1));
        assert_eq!(a.sub(&a), Resource::ZERO);
        assert!(a.fits(&b));
        assert!(!b.fits(&a));
        assert_eq!(a.to_string(), "<memory:1024, vCores:2, yarn.io/gpu: 1>");
        assert!(b.sub(&a).any_negative());
        assert_eq!(
            a.sub(&Resource::new(0, 0).with(GPU, 1)),
            Resource::new(1024, 2)
        );
        assert_eq!(
            Resource::new(1, 1).with(GPU, 2).with(GPU, 0),
            Resource::new(1, 1)
        );
        assert_eq!(std::mem::size_of::<Resource>(), 24);
    }
}
