//! Users' groups for placement rules and ACLs: the core cannot ask the operating system, so the
//! RM supplies them (Hadoop's static overrides in the configuration, or groups it resolved).

use std::collections::BTreeMap;

/// Hadoop's key for fixed user-to-groups mappings: `user1=group1,group2;user2=;`.
pub const STATIC_MAPPING_OVERRIDES_KEY: &str = "hadoop.user.group.static.mapping.overrides";

/// User name to group names, the first being the primary group (as `id -Gn` lists them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupMapping {
    groups: BTreeMap<String, Vec<String>>,
}

impl GroupMapping {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `user`'s groups, primary group first; an empty list means the user has no group.
    pub fn set(&mut self, user: impl Into<String>, groups: Vec<String>) {
        self.groups.insert(user.into(), groups);
    }

    /// This mapping with `user`'s groups set.
    pub fn with(mut self, user: &str, groups: &[&str]) -> Self {
        self.set(user, groups.iter().map(|g| g.to_string()).collect());
        self
    }

    /// `user`'s groups, primary first (empty when unknown).
    pub fn groups_of(&self, user: &str) -> &[String] {
        self.groups.get(user).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn primary_group(&self, user: &str) -> Option<&str> {
        self.groups_of(user).first().map(String::as_str)
    }

    /// Every group but the primary one.
    pub fn secondary_groups(&self, user: &str) -> &[String] {
        self.groups_of(user).get(1..).unwrap_or(&[])
    }

    /// Adds every user of `other`, replacing the groups of users both know.
    pub fn merge(&mut self, other: &GroupMapping) {
        for (user, groups) in &other.groups {
            self.groups.insert(user.clone(), groups.clone());
        }
    }

    /// Parses Hadoop's `hadoop.user.group.static.mapping.overrides` value:
    /// `user=group1,group2;user2=;` (blanks around names are ignored).
    pub fn parse_static_overrides(text: &str) -> Result<Self, String> {
        let mut mapping = Self::default();
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((user, groups)) = entry.split_once('=') else {
                return Err(format!("entry '{entry}' must look like user=group1,group2"));
            };
            let user = user.trim();
            if user.is_empty() {
                return Err(format!("entry '{entry}' names no user"));
            }
            let groups = groups
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect();
            mapping.set(user, groups);
        }
        Ok(mapping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_overrides_parse_like_hadoop() {
        let mapping =
            GroupMapping::parse_static_overrides("alice=eng, dev ;bob=;dr.who=;").unwrap();
        assert_eq!(mapping.primary_group("alice"), Some("eng"));
        assert_eq!(mapping.secondary_groups("alice"), ["dev".to_string()]);
        assert_eq!(mapping.groups_of("bob"), &[] as &[String]);
        assert_eq!(mapping.primary_group("carol"), None);
    }

    #[test]
    fn malformed_overrides_are_refused() {
        assert!(GroupMapping::parse_static_overrides("alice")
            .unwrap_err()
            .contains("user=group1"));
        assert!(GroupMapping::parse_static_overrides("=eng").is_err());
    }

    #[test]
    fn merging_replaces_known_users() {
        let mut mapping = GroupMapping::new().with("alice", &["eng"]);
        mapping.merge(
            &GroupMapping::new()
                .with("alice", &["ops"])
                .with("bob", &["dev"]),
        );
        assert_eq!(mapping.primary_group("alice"), Some("ops"));
        assert_eq!(mapping.primary_group("bob"), Some("dev"));
    }
}
