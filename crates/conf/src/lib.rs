//! Hadoop-style XML configuration (yarn-site.xml, core-site.xml) with YARN's keys and defaults
