//! Nested objects of an event detail read only from JSON objects.
//!
//! serde reads a struct from an array of its fields too, so `"details": [{...}]`
//! would be read as the `details` object whose first field is that array element.
//! AWS never sends that shape; an event that does is not the event it looks like.
//! Fields marked `deserialize_with` one of these functions accept an object only,
//! and the error keeps the field's path.

use serde::de::{Deserializer, Visitor};
use serde::{forward_to_deserialize_any, Deserialize};

/// A struct read from a JSON object, never from an array.
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Object::deserialize(deserializer).map(|Object(value)| value)
}

/// An optional struct: `null` or absent (with `#[serde(default)]`) is `None`.
pub fn optional_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Object<T>>::deserialize(deserializer).map(|value| value.map(|Object(value)| value))
}

/// A list of structs, each read from a JSON object.
pub fn objects<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Vec::<Object<T>>::deserialize(deserializer)
        .map(|values| values.into_iter().map(|Object(value)| value).collect())
}

struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(MapOnly(deserializer)).map(Object)
    }
}

/// Hands a derived struct's visitor to the map reader alone, so an array is a type
/// error ("invalid type: sequence, expected struct ...").
struct MapOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Inner {
        name: Option<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Outer {
        #[serde(deserialize_with = "object")]
        one: Inner,
        #[serde(default, deserialize_with = "optional_object")]
        maybe: Option<Inner>,
        #[serde(default, deserialize_with = "objects")]
        many: Vec<Inner>,
    }

    fn read(value: serde_json::Value) -> Result<Outer, String> {
        serde_path_to_error::deserialize(value).map_err(|err| err.to_string())
    }

    #[test]
    fn objects_are_read() {
        let inner = |name: &str| Inner {
            name: Some(name.into()),
        };
        assert_eq!(
            read(json!({"one": {"name": "a"}, "maybe": {"name": "b"}, "many": [{"name": "c"}]})),
            Ok(Outer {
                one: inner("a"),
                maybe: Some(inner("b")),
                many: vec![inner("c")],
            })
        );
        assert_eq!(
            read(json!({"one": {}, "maybe": null})),
            Ok(Outer {
                one: Inner { name: None },
                maybe: None,
                many: vec![],
            })
        );
    }

    #[test]
    fn an_array_of_fields_is_a_type_error_at_its_path() {
        for (event, path) in [
            (json!({"one": ["a"]}), "one"),
            (json!({"one": {}, "maybe": ["b"]}), "maybe"),
            (
                json!({"one": {}, "many": [{"name": "c"}, ["d"]]}),
                "many[1]",
            ),
        ] {
            let error = read(event).expect_err("an array is not an object");
            assert!(
                error.starts_with(&format!("{path}: invalid type: sequence, expected")),
                "{error}"
            );
        }
    }
}
