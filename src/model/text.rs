//! Domain values stored in text columns: one table of variants gives each its column text,
//! parsing and `Display`; an unknown stored value is an error, never a panic.

/// A text column held a value this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    what: &'static str,
    value: String,
}

impl UnknownValue {
    pub(crate) fn new(what: &'static str, value: &str) -> UnknownValue {
        UnknownValue {
            what,
            value: value.chars().take(32).collect(),
        }
    }
}

/// An enum stored as text: its column text, parsing (`FromStr`, `TryFrom<String>` for diesel's
/// `deserialize_as`) and `Display`, all from one table of variants.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::model::UnknownValue;

            fn from_str(text: &str) -> Result<Self, $crate::model::UnknownValue> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::model::UnknownValue::new(
                        stringify!($name),
                        text,
                    )),
                }
            }
        }

        /// For diesel's `serialize_as`: the column text.
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_string()
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::model::UnknownValue;

            fn try_from(text: String) -> Result<Self, $crate::model::UnknownValue> {
                text.parse()
            }
        }

        /// In the OpenAPI document: a string enum of the column texts.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
                let object = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([$($text,)+]))
                    .build();
                utoipa::openapi::RefOr::T(Schema::Object(object))
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;
