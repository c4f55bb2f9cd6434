//! The XML reader: accepted shapes, and an error naming file, line and property for each malformed one.

use spindle_conf::{parse_configuration_xml, ConfError, ParsedProperty};

fn parse(xml: &str) -> Result<Vec<ParsedProperty>, ConfError> {
    parse_configuration_xml("yarn-site.xml", xml)
}

/// Parses `xml`, expecting an error; returns (line, property, message) and checks the Display form.
fn malformed(xml: &str) -> (usize, Option<String>, String) {
    match parse(xml) {
        Err(error @ ConfError::Malformed { .. }) => {
            let shown = error.to_string();
            let ConfError::Malformed {
                source_name,
                line,
                column,
                property,
                message,
            } = error
            else {
                unreachable!()
            };
            assert_eq!(source_name, "yarn-site.xml");
            assert!(
                shown.starts_with(&format!("yarn-site.xml:{line}:{column}: ")),
                "{shown}"
            );
            if let Some(name) = &property {
                assert!(shown.contains(&format!("in property '{name}'")), "{shown}");
            }
            (line, property, message)
        }
        other => panic!("expected a Malformed error for {xml:?}, got {other:?}"),
    }
}

#[test]
fn reads_names_values_and_final() {
    let properties = parse(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>
<!-- a comment -->
<configuration xmlns:xi="http://www.w3.org/2001/XInclude">
  <property>
    <name>
      yarn.resourcemanager.hostname
    </name>
    <value>rm.example.com</value>
    <description>The <b>RM</b> host &amp; more.</description>
  </property>
  <property><name>spaces</name><value>  kept as written  </value><final>true</final></property>
  <property><name>escaped</name><value>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;</value></property>
  <property><name>cdata</name><value><![CDATA[<not> & markup]]></value></property>
  <property name="short.form" value="v" final="true"/>
  <property><name>empty.value</name><value></value></property>
  <property><name>no.value</name></property>
  <property><name>with.source</name><value>x</value><source>core-site.xml</source><tag>T</tag></property>
  <property><name>explicitly.not.final</name><value>y</value><final> false </final></property>
</configuration>
"#,
    )
    .unwrap();
    let summary: Vec<(&str, Option<&str>, bool)> = properties
        .iter()
        .map(|property| {
            (
                property.name.as_str(),
                property.value.as_deref(),
                property.is_final,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "yarn.resourcemanager.hostname",
                Some("rm.example.com"),
                false
            ),
            ("spaces", Some("  kept as written  "), true),
            ("escaped", Some("a <b> & \"c\" 'd' AB"), false),
            ("cdata", Some("<not> & markup"), false),
            ("short.form", Some("v"), true),
            ("empty.value", None, false),
            ("no.value", None, false),
            ("with.source", Some("x"), false),
            ("explicitly.not.final", Some("y"), false),
        ]
    );
    assert_eq!(properties[0].line, 5);
}

#[test]
fn empty_configuration_and_byte_order_mark() {
    assert!(parse("<configuration/>").unwrap().is_empty());
    assert!(
        parse("\u{feff}<configuration></configuration>\n<!-- trailing -->")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn values_keep_newlines_normalized() {
    let properties = parse(
        "<configuration><property><name>m</name><value>a\r\nb</value></property></configuration>",
    )
    .unwrap();
    assert_eq!(properties[0].value.as_deref(), Some("a\nb"));
}

#[test]
fn empty_or_non_xml_input() {
    for xml in ["", "   \n", "just text", "<!-- only a comment -->"] {
        let (_, _, message) = malformed(xml);
        assert!(
            message.contains("configuration") || message.contains("text"),
            "{xml:?}: {message}"
        );
    }
}

#[test]
fn wrong_root_element() {
    let (line, _, message) = malformed("<?xml version=\"1.0\"?>\n<conf><property/></conf>");
    assert_eq!(line, 2);
    assert!(
        message.contains("<conf>") && message.contains("<configuration>"),
        "{message}"
    );
}

#[test]
fn truncated_files() {
    let complete = "<configuration>\n<property>\n<name>a.key</name>\n<value>value</value>\n</property>\n</configuration>\n";
    // Every cut inside the document must be an error, never a silently shorter configuration.
    let last_cut = complete.trim_end().len() - 1;
    for cut in 1..=last_cut {
        let truncated = &complete[..cut];
        assert!(
            matches!(parse(truncated), Err(ConfError::Malformed { .. })),
            "truncated at {cut}: {truncated:?} -> {:?}",
            parse(truncated)
        );
    }
    let (_, property, message) =
        malformed("<configuration>\n<property>\n<name>a.key</name>\n<value>val");
    assert_eq!(property.as_deref(), Some("a.key"));
    assert!(
        message.contains("not closed") || message.contains("end of file"),
        "{message}"
    );
}

#[test]
fn property_without_name() {
    let (line, property, message) =
        malformed("<configuration>\n  <property><name>ok</name><value>1</value></property>\n  <property><value>orphan</value></property>\n</configuration>");
    assert_eq!(line, 3);
    assert_eq!(property, None);
    assert!(
        message.contains("no <name>") && message.contains("orphan"),
        "{message}"
    );
    let (_, _, message) = malformed(
        "<configuration><property><name>  </name><value>x</value></property></configuration>",
    );
    assert!(message.contains("no <name>"), "{message}");
    malformed("<configuration><property/></configuration>");
}

#[test]
fn unknown_elements() {
    let (line, _, message) = malformed("<configuration>\n<property><name>a</name><value>1</value></property>\n<setting/>\n</configuration>");
    assert_eq!(line, 3);
    assert!(message.contains("<setting>"), "{message}");
    let (_, _, message) =
        malformed(r#"<configuration><xi:include href="other.xml"/></configuration>"#);
    assert!(message.contains("XInclude"), "{message}");
}

#[test]
fn unknown_parts_of_a_property_are_skipped_as_hadoop_does() {
    // Hadoop's own core-default.xml has a <decription> typo; Hadoop skips such elements.
    let properties = parse(
        r#"<configuration>
  <property><name>a</name><decription>typo <i>x</i></decription><value>1</value><other/></property>
  <property name="b" value="2" colour="red"/>
</configuration>"#,
    )
    .unwrap();
    let pairs: Vec<(&str, Option<&str>)> = properties
        .iter()
        .map(|property| (property.name.as_str(), property.value.as_deref()))
        .collect();
    assert_eq!(pairs, vec![("a", Some("1")), ("b", Some("2"))]);
}

#[test]
fn nested_garbage() {
    let (_, property, message) =
        malformed("<configuration><property><name>a.b</name><value>x<inner>y</inner></value></property></configuration>");
    assert_eq!(property.as_deref(), Some("a.b"));
    assert!(
        message.contains("<inner>") && message.contains("<value>"),
        "{message}"
    );
    let (_, _, message) = malformed(
        "<configuration><property><name>a</name><property><name>b</name></property></property></configuration>",
    );
    assert!(message.contains("</property> missing"), "{message}");
    let (_, property, message) = malformed(
        "<configuration><property><name>a</name>stray<value>1</value></property></configuration>",
    );
    assert_eq!(property.as_deref(), Some("a"));
    assert!(message.contains("stray"), "{message}");
    let (_, _, message) = malformed("<configuration>loose text</configuration>");
    assert!(message.contains("loose text"), "{message}");
    malformed("<configuration></configuration><configuration></configuration>");
    malformed("<configuration></configuration>trailing");
}

#[test]
fn mismatched_and_duplicate_tags() {
    let (line, _, message) =
        malformed("<configuration>\n<property><name>a</value></property>\n</configuration>");
    assert_eq!(line, 2);
    assert!(message.contains("malformed XML"), "{message}");
    let (_, property, message) = malformed(
        "<configuration><property><name>a</name><name>b</name></property></configuration>",
    );
    assert_eq!(property.as_deref(), Some("a"));
    assert!(message.contains("more than one <name>"), "{message}");
    malformed("<configuration><property><name>a</name><value>1</value><value>2</value></property></configuration>");
    malformed("<configuration></property></configuration>");
    malformed("<configuration><property><name>a<name></property></configuration>");
}

#[test]
fn bad_entities_and_characters() {
    let (_, property, message) = malformed(
        "<configuration><property><name>a</name><value>&nbsp;</value></property></configuration>",
    );
    assert_eq!(property.as_deref(), Some("a"));
    assert!(message.contains("&nbsp;"), "{message}");
    let (_, _, message) = malformed(
        "<configuration><property><name>a</name><value>&#1;</value></property></configuration>",
    );
    assert!(message.contains("U+0001"), "{message}");
    malformed("<configuration><property><name>a</name><value>fish & chips</value></property></configuration>");
    malformed(
        "<configuration><property><name>a</name><value>&#xZZ;</value></property></configuration>",
    );
    malformed(
        "<configuration><property><name>a</name><value>&#0;</value></property></configuration>",
    );
    malformed(
        "<configuration><property><name>a</name><value>&amp</value></property></configuration>",
    );
    malformed(r#"<configuration><property name="a" value="&bogus;"/></configuration>"#);
}

#[test]
fn invalid_final_flag() {
    let (_, property, message) =
        malformed("<configuration><property><name>k</name><value>v</value><final>yes</final></property></configuration>");
    assert_eq!(property.as_deref(), Some("k"));
    assert!(message.contains("'yes'"), "{message}");
}

#[test]
fn column_points_at_the_problem() {
    let error = parse("<configuration>\n  <bogus/>\n</configuration>").unwrap_err();
    let ConfError::Malformed { line, column, .. } = error else {
        panic!("{error}")
    };
    assert_eq!((line, column), (2, 3));
}
