//! An organisation's own questionnaires: scale, choice and short-text
//! items, checked here before they are stored. They carry no severity bands
//! and no safety item: those belong to validated instruments.

use serde::Deserialize;

use super::{ChoiceOption, Item, ItemKind, Questionnaire, QuestionnaireRef};
use crate::ids::QuestionnaireId;
use crate::validation::{Invalid, Validator};

pub const TITLE_MAX: usize = 120;
pub const INSTRUCTIONS_MAX: usize = 1000;
pub const ITEMS_MAX: usize = 30;
pub const PROMPT_MAX: usize = 300;
pub const OPTIONS_MAX: usize = 12;
pub const SCALE_LIMIT: i32 = 100;
pub const TEXT_MAX: usize = 500;
/// The kinds of item a questionnaire may hold, as a request names them.
pub const ITEM_KINDS: [&str; 3] = ["scale", "choice", "text"];

/// A questionnaire as a client sends it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomInput {
    pub title: String,
    pub instructions: Option<String>,
    pub items: Vec<ItemInput>,
    /// Whether a rising total is good news (defaults to true).
    pub higher_is_better: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ItemInput {
    pub prompt: String,
    /// `scale`, `choice` or `text`.
    pub kind: String,
    pub required: Option<bool>,
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub min_label: Option<String>,
    pub max_label: Option<String>,
    pub options: Option<Vec<OptionInput>>,
    pub max_chars: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OptionInput {
    pub label: String,
    pub value: i32,
}

fn text(v: &mut Validator, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    if value.is_empty() {
        v.reject(field, "is required");
    } else if value.chars().count() > max {
        v.reject(field, format!("must be at most {max} characters"));
    }
    value.to_owned()
}

impl CustomInput {
    /// The questionnaire `id` this input describes, or every field that is
    /// wrong with it.
    pub fn parse(&self, id: QuestionnaireId) -> Result<Questionnaire, Invalid> {
        let mut v = Validator::default();
        let title = text(&mut v, "title", &self.title, TITLE_MAX);
        let instructions = self.instructions.as_deref().unwrap_or("").trim().to_owned();
        if instructions.chars().count() > INSTRUCTIONS_MAX {
            v.reject("instructions", format!("must be at most {INSTRUCTIONS_MAX} characters"));
        }
        if self.items.is_empty() || self.items.len() > ITEMS_MAX {
            v.reject("items", format!("must hold from 1 to {ITEMS_MAX} items"));
        }
        let items = self.items.iter().enumerate().map(|(i, item)| item.parse(&mut v, i)).collect();
        v.done(|| {
            Some(Questionnaire {
                id: QuestionnaireRef::Custom(id),
                title,
                instructions,
                items,
                bands: Vec::new(),
                higher_is_better: self.higher_is_better.unwrap_or(true),
                safety_item: None,
            })
        })
    }
}

impl ItemInput {
    fn parse(&self, v: &mut Validator, i: usize) -> Item {
        let field = |name: &str| format!("items[{i}].{name}");
        let prompt = text(v, &field("prompt"), &self.prompt, PROMPT_MAX);
        let kind = match self.kind.as_str() {
            "scale" => {
                let (min, max) = (self.min.unwrap_or(0), self.max.unwrap_or(10));
                if min < -SCALE_LIMIT || max > SCALE_LIMIT || min >= max {
                    v.reject(&field("max"), format!("must be above min, both within ±{SCALE_LIMIT}"));
                }
                let label = |l: &Option<String>, name: &str, v: &mut Validator| {
                    let l = l.as_deref().unwrap_or("").trim().to_owned();
                    if l.chars().count() > PROMPT_MAX {
                        v.reject(&field(name), format!("must be at most {PROMPT_MAX} characters"));
                    }
                    l
                };
                let min_label = label(&self.min_label, "min_label", v);
                let max_label = label(&self.max_label, "max_label", v);
                ItemKind::Scale { min, max, min_label, max_label }
            }
            "choice" => ItemKind::Choice { options: self.options(v, i) },
            "text" => {
                let max_chars = self.max_chars.unwrap_or(TEXT_MAX);
                if max_chars == 0 || max_chars > TEXT_MAX {
                    v.reject(&field("max_chars"), format!("must be from 1 to {TEXT_MAX}"));
                }
                ItemKind::Text { max_chars }
            }
            _ => {
                v.reject(&field("kind"), format!("must be one of {}", ITEM_KINDS.join(", ")));
                ItemKind::Text { max_chars: TEXT_MAX }
            }
        };
        Item { key: format!("q{}", i + 1), prompt, kind, required: self.required.unwrap_or(true) }
    }

    fn options(&self, v: &mut Validator, i: usize) -> Vec<ChoiceOption> {
        let options = self.options.as_deref().unwrap_or_default();
        if options.len() < 2 || options.len() > OPTIONS_MAX {
            v.reject(&format!("items[{i}].options"), format!("must hold from 2 to {OPTIONS_MAX} options"));
        }
        let mut out: Vec<ChoiceOption> = Vec::with_capacity(options.len());
        for (j, o) in options.iter().enumerate() {
            let label = text(v, &format!("items[{i}].options[{j}].label"), &o.label, PROMPT_MAX);
            if out.iter().any(|seen| seen.value == o.value || seen.label == label) {
                v.reject(&format!("items[{i}].options[{j}]"), "repeats another option's label or value");
            } else if o.value.abs() > SCALE_LIMIT {
                v.reject(&format!("items[{i}].options[{j}].value"), format!("must be within ±{SCALE_LIMIT}"));
            }
            out.push(ChoiceOption { label, value: o.value });
        }
        out
    }
}
