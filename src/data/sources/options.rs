//! The editable options of a data source, described by the source itself (label, tooltip,
//! type with its range or choices) so that the data panel draws them without knowing the
//! source: a new source or a new option touches only the source's module.
//!
//! Each [`SourceOption`] borrows the value it edits; reading it is the getter, writing
//! through it the setter.

use std::ops::RangeInclusive;

/// One editable option: its label (also the accessible name the window tests use), the
/// tooltip, and the value with its type and range.
pub struct SourceOption<'a> {
    pub label: &'static str,
    pub tip: &'static str,
    pub value: OptionValue<'a>,
}

impl<'a> SourceOption<'a> {
    pub fn new(label: &'static str, tip: &'static str, value: OptionValue<'a>) -> Self {
        SourceOption { label, tip, value }
    }
}

/// The type of an option, with its range or choices.
pub enum OptionValue<'a> {
    /// A whole number in a range.
    Count(&'a mut usize, RangeInclusive<usize>),
    /// A real number in a range, dragged by `speed` per pixel.
    Real(&'a mut f64, RangeInclusive<f64>, f64),
    /// One of a few named options, shown side by side.
    Choice(Box<dyn Choice + 'a>),
    /// Any set of a few named switches, shown side by side.
    Switches(Box<dyn Switches + 'a>),
}

/// One of a fixed list of named options.
pub trait Choice {
    fn names(&self) -> Vec<&'static str>;
    /// The selected option's index (`None` when the value is none of the names).
    fn selected(&self) -> Option<usize>;
    fn select(&mut self, index: usize);
}

/// A few named on/off switches.
pub trait Switches {
    fn names(&self) -> Vec<&'static str>;
    fn is_on(&self, index: usize) -> bool;
    fn set(&mut self, index: usize, on: bool);
}

/// A choice among the values of a small `Copy` enum, named by `name`.
pub struct EnumChoice<'a, T: 'static> {
    pub value: &'a mut T,
    pub all: &'static [T],
    pub name: fn(T) -> &'static str,
}

impl<T: Copy + PartialEq> Choice for EnumChoice<'_, T> {
    fn names(&self) -> Vec<&'static str> {
        self.all.iter().map(|&v| (self.name)(v)).collect()
    }
    fn selected(&self) -> Option<usize> {
        self.all.iter().position(|v| v == self.value)
    }
    fn select(&mut self, index: usize) {
        if let Some(&v) = self.all.get(index) {
            *self.value = v;
        }
    }
}

/// A choice of a name kept as text in the preset (e.g. the function to fit).
pub struct NameChoice<'a> {
    pub value: &'a mut String,
    pub all: &'static [&'static str],
}

impl Choice for NameChoice<'_> {
    fn names(&self) -> Vec<&'static str> {
        self.all.to_vec()
    }
    fn selected(&self) -> Option<usize> {
        self.all.iter().position(|n| n == self.value)
    }
    fn select(&mut self, index: usize) {
        if let Some(n) = self.all.get(index) {
            *self.value = n.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::PointPattern;

    #[test]
    fn an_enum_choice_reads_and_writes_its_value() {
        let mut pattern = PointPattern::Xor;
        let mut choice = EnumChoice {
            value: &mut pattern,
            all: &PointPattern::ALL,
            name: PointPattern::name,
        };
        assert_eq!(choice.names(), ["xor", "circles", "spirals", "blobs"]);
        assert_eq!(choice.selected(), Some(0));
        choice.select(2);
        choice.select(99);
        assert_eq!(pattern, PointPattern::Spirals);
    }

    #[test]
    fn a_name_choice_knows_when_the_text_is_none_of_its_names() {
        let mut name = "cosine".to_string();
        let mut choice = NameChoice {
            value: &mut name,
            all: &["sine", "step"],
        };
        assert_eq!(choice.selected(), None);
        choice.select(1);
        assert_eq!(name, "step");
    }
}
