//! Kinds and states stored as one word (`slack`, `pending`, `Firing`): the one table from
//! variant to word gives `as_str`, `Display` and `TryFrom<String>`, so the word a store keeps
//! and the word it reads back cannot drift apart.

/// `stored_words!(ChannelKind, "channel kind", { Slack => "slack", Email => "email" });`
/// gives `ChannelKind::as_str`, `ChannelKind::ALL`, `Display` (the word) and
/// `TryFrom<String>`, where an unknown word is an error naming it and what it should have
/// been (`unknown channel kind "sms"`). Rows use the latter at the repository boundary
/// (`#[sqlx(try_from = "String")]` or `db::word_column`).
macro_rules! stored_words {
    ($ty:ident, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order declared.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The word the stores keep.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// As the store keeps it; an unknown word is an error naming it.
        impl TryFrom<String> for $ty {
            type Error = String;

            fn try_from(s: String) -> Result<Self, String> {
                match s.as_str() {
                    $($word => Ok($ty::$variant),)+
                    other => Err(format!(concat!("unknown ", $what, " \"{}\""), other)),
                }
            }
        }
    };
}
pub(crate) use stored_words;

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Color {
        Red,
        DarkBlue,
    }
    stored_words!(Color, "color", { Red => "red", DarkBlue => "dark_blue" });

    #[test]
    fn every_word_reads_back_as_its_value() {
        for c in Color::ALL {
            assert_eq!(Color::try_from(c.as_str().to_string()), Ok(*c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(Color::DarkBlue.as_str(), "dark_blue");
    }

    #[test]
    fn an_unknown_word_is_an_error_naming_it() {
        assert_eq!(
            Color::try_from("Red".to_string()),
            Err("unknown color \"Red\"".to_string())
        );
        assert!(Color::try_from(String::new()).is_err());
    }
}
