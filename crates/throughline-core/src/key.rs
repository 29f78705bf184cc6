//! Owns [`Key`], the one hashable form of a row's key that relation writes, hooks and
//! prefetch grouping compare and hash: integers of every width as one `i64` (an `integer`
//! column and a `bigint` key compare equal), every other key by its canonical text (UUIDs
//! lowercase and hyphenated, whichever backend returned them).

use crate::value::Value;

/// A hashable row key. Built from a [`Value`] with [`Key::of`]; an integer key allocates
/// nothing.
///
/// ```
/// use throughline_core::{Key, Value};
/// assert_eq!(Key::of(&Value::I32(7)), Key::of(&Value::I64(7)));
/// assert_ne!(Key::of(&Value::I64(7)), Key::of(&Value::from("7")));
/// let id = uuid::Uuid::nil();
/// assert_eq!(Key::of(&Value::Uuid(id)), Key::Text(id.to_string()));
/// assert!(Key::of(&Value::I16(3)).is(&Value::I64(3)));
/// assert_ne!(Key::of(&Value::Null), Key::of(&Value::from("NULL")));
/// assert_ne!(Key::of(&Value::Bytes(vec![1])), Key::of(&Value::Bytes(vec![2])));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// An integer key of any width.
    Int(i64),
    /// Any other key, by its canonical text (a UUID lowercase and hyphenated).
    Text(String),
    /// A bytes key, by its bytes.
    Bytes(Vec<u8>),
    /// No key (NULL): never equal to a text key, whatever its text.
    Null,
}

impl std::hash::Hash for Key {
    /// One write for an integer key (the derived hash writes the variant too; a relation
    /// write hashes every key of the call several times). An integer and a text that hash
    /// alike are still told apart by equality.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Key::Int(v) => state.write_i64(*v),
            Key::Text(text) => text.hash(state),
            Key::Bytes(bytes) => bytes.hash(state),
            Key::Null => state.write_u8(0),
        }
    }
}

impl Key {
    /// The key of `value`.
    ///
    /// ```
    /// use throughline_core::{Decimal, Key, Value};
    /// assert_eq!(Key::of(&Value::I64(7)), Key::Int(7));
    /// assert_eq!(Key::of(&Value::I32(7)), Key::Int(7)); // one key, whatever the width
    /// let (a, b) = (Decimal::new(15, 1), Decimal::new(150, 2)); // 1.5 and 1.50
    /// assert_eq!(Key::of(&Value::Decimal(a)), Key::of(&Value::Decimal(b)));
    /// ```
    #[inline]
    pub fn of(value: &Value) -> Key {
        match value {
            Value::Null => Key::Null,
            Value::Bytes(bytes) => Key::Bytes(bytes.clone()),
            // 1.5 and 1.50 are one key.
            Value::Decimal(d) => Key::Text(d.normalize().to_string()),
            _ => match value.as_i64() {
                Some(v) => Key::Int(v),
                None => Key::Text(value.display()),
            },
        }
    }

    /// Whether this is the key of `value` (without building that key for an integer).
    ///
    /// ```
    /// use throughline_core::{Key, Value};
    /// assert!(Key::Int(3).is(&Value::I64(3)));
    /// assert!(!Key::Int(3).is(&Value::String("3".into())));
    /// assert!(Key::Text("a".into()).is(&Value::String("a".into())));
    /// ```
    #[inline]
    pub fn is(&self, value: &Value) -> bool {
        match (self, value) {
            (Key::Null, Value::Null) => true,
            (Key::Bytes(a), Value::Bytes(b)) => a == b,
            (Key::Null | Key::Bytes(_), _) | (_, Value::Null | Value::Bytes(_)) => false,
            (Key::Int(a), _) => value.as_i64() == Some(*a),
            (Key::Text(_), Value::Decimal(_)) => *self == Key::of(value),
            (Key::Text(text), _) => value.as_i64().is_none() && *text == value.display(),
        }
    }

    /// Whether `a` and `b` are the same key (integers of any width compared inline, without
    /// building either key).
    ///
    /// ```
    /// use throughline_core::{Key, Value};
    /// assert!(Key::same(&Value::I32(1), &Value::I64(1)));
    /// assert!(!Key::same(&Value::I64(1), &Value::I64(2)));
    /// assert!(!Key::same(&Value::Null, &Value::from("NULL")));
    /// ```
    #[inline]
    pub fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::I64(x), Value::I64(y)) => x == y,
            _ => match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x == y,
                (None, None) => match (a, b) {
                    (Value::Uuid(x), Value::Uuid(y)) => x == y,
                    (Value::String(x), Value::String(y)) => x == y,
                    _ => Key::of(a) == Key::of(b),
                },
                _ => false,
            },
        }
    }
}
