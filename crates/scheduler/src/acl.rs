//! Hadoop access control lists (`acl_submit_applications`, `aclSubmitApps`, `yarn.admin.acl`):
//! `"user1,user2 group1,group2"`, `"*"` for everyone, blank for no one.

use std::collections::BTreeSet;
use std::fmt;

/// Users and groups allowed to do something.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessControlList {
    everyone: bool,
    users: BTreeSet<String>,
    groups: BTreeSet<String>,
}

impl AccessControlList {
    /// Everyone (`*`).
    pub fn everyone() -> Self {
        Self {
            everyone: true,
            ..Self::default()
        }
    }

    /// No one (a blank value).
    pub fn nobody() -> Self {
        Self::default()
    }

    /// Parses Hadoop's format: users, a blank, groups; each comma-separated. `*` (blanks around
    /// it allowed) is everyone. Hadoop accepts any text, so parsing never fails.
    pub fn parse(text: &str) -> Self {
        if text.trim() == "*" {
            return Self::everyone();
        }
        let text = text.trim_end_matches(['\n', '\r']);
        let (users, groups) = match text.split_once(' ') {
            Some((users, groups)) => (users, groups),
            None => (text, ""),
        };
        let names = |part: &str| -> BTreeSet<String> {
            part.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(String::from)
                .collect()
        };
        let users = names(users);
        if users.contains("*") {
            return Self::everyone();
        }
        Self {
            everyone: false,
            users,
            groups: names(groups),
        }
    }

    pub fn allows_everyone(&self) -> bool {
        self.everyone
    }

    pub fn is_allowed(&self, user: &str, groups: &[String]) -> bool {
        self.everyone
            || self.users.contains(user)
            || groups.iter().any(|group| self.groups.contains(group))
    }
}

impl fmt::Display for AccessControlList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.everyone {
            return f.write_str("*");
        }
        let join = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(",");
        write!(f, "{} {}", join(&self.users), join(&self.groups))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn users_then_groups() {
        let acl = AccessControlList::parse("alice,bob admins,eng");
        assert!(acl.is_allowed("alice", &[]));
        assert!(acl.is_allowed("carol", &groups(&["eng"])));
        assert!(!acl.is_allowed("carol", &groups(&["ops"])));
        assert_eq!(acl.to_string(), "alice,bob admins,eng");
    }

    #[test]
    fn star_blank_and_groups_only() {
        assert!(AccessControlList::parse("*").is_allowed("anyone", &[]));
        assert!(AccessControlList::parse(" * ").allows_everyone());
        for blank in ["", " "] {
            assert!(!AccessControlList::parse(blank).is_allowed("alice", &groups(&["eng"])));
        }
        let groups_only = AccessControlList::parse(" eng");
        assert!(groups_only.is_allowed("dave", &groups(&["eng"])));
        assert!(!groups_only.is_allowed("eng", &[]));
    }
}
