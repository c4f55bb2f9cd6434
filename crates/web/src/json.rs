//! YARN's JSON conventions (Jersey 1 "natural" JSON as Hadoop 3.3/3.4 writes it): one envelope
//! key per object (`{"app":{..}}`), lists as an object with one singular key holding an array
//! (`{"apps":{"app":[..]}}`), an empty list as `null`, Java maps as a repeated `entry` key.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// The content type of every JSON answer.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// `value` serialized as a JSON response.
pub fn response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not encode the answer: {e}"),
        )
            .into_response(),
    }
}

/// `{"<key>": value}`: the envelope every YARN object travels in.
pub struct Envelope<'a, T> {
    pub key: &'a str,
    pub value: T,
}

impl<T: Serialize> Serialize for Envelope<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.key, &self.value)?;
        map.end()
    }
}

/// `{"<key>": value}` as a 200 JSON response.
pub fn enveloped<T: Serialize>(key: &str, value: T) -> Response {
    response(StatusCode::OK, &Envelope { key, value })
}

/// A list as YARN writes it: `{"<item>":[..]}`, or `null` when empty.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonList<T> {
    pub item: &'static str,
    pub items: Vec<T>,
}

impl<T> JsonList<T> {
    pub fn new(item: &'static str, items: Vec<T>) -> Self {
        Self { item, items }
    }
}

impl<T: Serialize> Serialize for JsonList<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.items.is_empty() {
            return serializer.serialize_none();
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.item, &self.items)?;
        map.end()
    }
}

/// A Java map as JAXB writes it: the key `entry` once per pair (`{"entry":{"key":..,"value":..},
/// "entry":{..}}`, duplicate keys included, values as strings), or `null` when empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryMap(pub Vec<(String, String)>);

#[derive(Serialize)]
struct Entry<'a> {
    key: &'a str,
    value: &'a str,
}

impl Serialize for EntryMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return serializer.serialize_none();
        }
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry("entry", &Entry { key, value })?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_wrapped_and_empty_ones_are_null() {
        #[derive(Serialize)]
        struct Apps {
            apps: JsonList<u32>,
        }
        let one = serde_json::to_string(&Apps {
            apps: JsonList::new("app", vec![7]),
        })
        .unwrap();
        assert_eq!(one, r#"{"apps":{"app":[7]}}"#);
        let none = serde_json::to_string(&Apps {
            apps: JsonList::new("app", vec![]),
        })
        .unwrap();
        assert_eq!(none, r#"{"apps":null}"#);
    }

    #[test]
    fn java_maps_repeat_the_entry_key() {
        let map = EntryMap(vec![
            ("memory-mb".into(), "120000".into()),
            ("vcores".into(), "118".into()),
        ]);
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"entry":{"key":"memory-mb","value":"120000"},"entry":{"key":"vcores","value":"118"}}"#
        );
        assert_eq!(serde_json::to_string(&EntryMap::default()).unwrap(), "null");
    }
}
