//! Closed sets of values with one spelling on the wire and in the database.

/// A closed set of values with one spelling on the wire and in the database.
///
/// Every status reads in upper case on the wire. A few statuses were first
/// stored in lower case; they name their stored text after the wire text
/// (`Proposed = "PROPOSED" / "proposed"`), so the database keeps its
/// spelling while JSON has one convention. Parsing accepts any case of
/// either, so `?status=pending` and `?status=PENDING` mean the same.
macro_rules! spelled_enum {
    (@stored $wire:literal) => { $wire };
    (@stored $wire:literal $stored:literal) => { $stored };
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal $(/ $stored:literal)?),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text the database stores.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => spelled_enum!(@stored $wire $($stored)?)),+ }
            }

            /// The text JSON carries.
            pub fn wire(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// The value in words for a sentence: `IN_PROGRESS` → `in progress`.
            pub fn words(self) -> String {
                self.wire().to_ascii_lowercase().replace('_', " ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.wire())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| s.eq_ignore_ascii_case(v.wire()) || s.eq_ignore_ascii_case(v.as_str()))
                    .ok_or_else(|| format!("must be one of {}", [$($wire),+].join(", ")))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.wire())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use spelled_enum;

/// `a scheduled`, `an in progress`: the words with their indefinite article.
pub fn with_article(words: &str) -> String {
    let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {words}")
}

#[cfg(test)]
mod tests {
    use super::with_article;

    #[test]
    fn the_article_follows_the_first_sound() {
        assert_eq!(with_article("in progress"), "an in progress");
        assert_eq!(with_article("scheduled"), "a scheduled");
    }
}
